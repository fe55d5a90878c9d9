import Logging

/// A handle on one series of a writer, for logging without a key lookup.
public struct Series: Sendable, Hashable {
    public let key: String
    let slot: Int
    /// The token of the writer that made the handle.
    let writer: UInt64
}

/// What opening a run for writing found and repaired.
public struct RecoveryReport: Sendable {
    /// The torn tail the writer truncated, if the previous writer crashed mid-record.
    public var truncatedTail: TornTail?
    /// Corruption found elsewhere in the log (skipped, not repaired).
    public var problems: [StoreProblem] = []
}

/// The single writer of one run.
///
/// `log` stages points in memory under a short lock; a background sealer thread encodes, compresses,
/// checksums and writes them. `flush()` returns once everything logged before it is written (and
/// fsynced, with `Durability.onFlush`). After a failed write or fsync the writer is failed: every
/// later call throws the error that failed it.
public final class RunWriter: Sendable {
    public let runID: RunID
    public let recovery: RecoveryReport
    let state: ConditionLock<WriterState>
    let options: StoreOptions
    let files: SegmentFiles
    let appender: SegmentAppender
    let lockFile: any FileHandle
    /// The log's base when the writer opened it (segments below it were replaced by compaction).
    let base: UInt32
    /// Called with the run's id once the writer has closed (the store queues it for compaction).
    let onClose: @Sendable (RunID) -> Void
    /// Joined by `close()`, so that a closed writer leaves no thread behind.
    let sealerThread: JoinableThread
    /// Identifies this writer's `Series` handles (an address could be reused by a later writer).
    let token = UInt64.random(in: 0...UInt64.max)

    init(
        runID: RunID, recovery: RecoveryReport, index: RunIndex, options: StoreOptions, files: SegmentFiles,
        appender: SegmentAppender, lockFile: any FileHandle, base: UInt32,
        onClose: @escaping @Sendable (RunID) -> Void = { _ in }
    ) throws(StoreError) {
        self.onClose = onClose
        self.base = base
        self.runID = runID
        self.recovery = recovery
        self.options = options
        self.files = files
        self.appender = appender
        self.lockFile = lockFile
        self.state = ConditionLock(WriterState(index: index))
        let sealer = Sealer(state: state, appender: appender, options: options, runID: runID)
        sealerThread = try startJoinableThread { sealer.run() }
    }

    deinit {
        do {
            try close()
        } catch {
            options.logger.error("closing run \(runID) on deinit failed: \(error)")
        }
    }

    /// The series named `key`, defined on first use.
    public func series(_ key: String) throws(StoreError) -> Series {
        try KeyRules.validateKey(key, field: "metric key")
        let slot = try state.withLock { (s) throws(StoreError) -> Int in
            try s.checkOpen()
            return s.slots[key] ?? s.addSlot(key)
        }
        return Series(key: key, slot: slot, writer: token)
    }

    /// Logs one point. Waits only when the buffer is full (the sealer is behind).
    public func log(_ series: Series, step: Int64, timestamp: Int64, value: Double) throws(StoreError) {
        precondition(series.writer == token, "series \"\(series.key)\" was made by another writer")
        try stage(MetricPoint(step: step, timestamp: timestamp, value: value)) { _ throws(StoreError) in series.slot }
    }

    /// Logs one point to the series named `key` (a dictionary lookup more than with a `Series`).
    public func log(_ key: String, step: Int64, timestamp: Int64, value: Double) throws(StoreError) {
        try stage(MetricPoint(step: step, timestamp: timestamp, value: value)) { (s) throws(StoreError) in
            if let slot = s.slots[key] { return slot }
            try KeyRules.validateKey(key, field: "metric key")
            return s.addSlot(key)
        }
    }

    /// Logs `points[i]` to `series[seriesOf[i]]`, in order, holding the lock once for as many
    /// points as the buffer takes (a batch of a thousand points is one hold, not a thousand).
    /// Waits only when the buffer is full, as `log` does.
    public func log(_ points: [MetricPoint], series: [Series], seriesOf: [Int]) throws(StoreError) {
        precondition(points.count == seriesOf.count, "one series index a point")
        for one in series { precondition(one.writer == token, "series \"\(one.key)\" was made by another writer") }
        let limit = options.maxBufferedPoints
        let blockPoints = options.blockPoints
        var next = 0
        while next < points.count {
            let (resume, sealed) = try state.withLock(
                waitingWhile: { $0.bufferedPoints >= limit && $0.failure == nil && !$0.closed }
            ) { (s) throws(StoreError) -> (Int, Bool) in
                try s.checkOpen()
                var i = next
                var sealed = false
                repeat {
                    let slot = series[seriesOf[i]].slot
                    s.staging[slot].append(points[i])
                    s.bufferedPoints += 1
                    if s.staging[slot].count >= blockPoints {
                        s.seal(slot, reserve: blockPoints)
                        sealed = true
                    }
                    i += 1
                    if s.bufferedPoints >= limit {
                        s.sealWhenFull()
                        sealed = true
                    }
                } while i < points.count && s.bufferedPoints < limit
                if s.bufferedPoints > s.peakBufferedPoints { s.peakBufferedPoints = s.bufferedPoints }
                return (i, sealed)
            }
            if sealed { state.broadcast() }
            next = resume
        }
    }

    /// Stages `point` in the slot `slot(state)` names, under one hold of the lock.
    @inline(__always)
    private func stage(
        _ point: MetricPoint, slot: (inout WriterState) throws(StoreError) -> Int
    ) throws(StoreError) {
        let limit = options.maxBufferedPoints
        let blockPoints = options.blockPoints
        let sealed = try state.withLock(
            waitingWhile: { $0.bufferedPoints >= limit && $0.failure == nil && !$0.closed }
        ) { (s) throws(StoreError) -> Bool in
            try s.checkOpen()
            let slot = try slot(&s)
            s.staging[slot].append(point)
            s.bufferedPoints += 1
            if s.bufferedPoints > s.peakBufferedPoints { s.peakBufferedPoints = s.bufferedPoints }
            if s.bufferedPoints >= limit {
                s.sealWhenFull()
                return true
            }
            guard s.staging[slot].count >= blockPoints else { return false }
            s.seal(slot, reserve: blockPoints)
            return true
        }
        if sealed { state.broadcast() }
    }

    /// Appends a metadata record (param, tag, input, status) to the log, in order with the sealed
    /// points. A status record seals the staged points first, so that a reader that sees a run
    /// end (FINISHED…) has every point logged before it: `tail` and live pages stop there.
    public func append(_ record: RunRecord) throws(StoreError) {
        try record.validate()
        try state.withLock { (s) throws(StoreError) in
            try s.checkOpen()
            if case .status = record { s.sealAll(reserve: 0) }  // a run that ends logs no more: no room kept
            s.enqueue(.record(record))
        }
        state.broadcast()
    }

    /// Seals every staged point and returns once all of it is written — visible to readers in other
    /// processes — and, with `Durability.onFlush`, fsynced.
    public func flush() throws(StoreError) {
        let sync = options.durability == .onFlush
        let target = try state.withLock { (s) throws(StoreError) -> Int in
            try s.checkOpen()
            s.sealAll(reserve: options.blockPoints)
            s.enqueue(.flush(sync: sync))
            return s.enqueued
        }
        state.broadcast()
        try state.withLock(waitingWhile: { $0.completed < target && $0.failure == nil }) { (s) throws(StoreError) in
            if let failure = s.failure { throw failure }
        }
    }

    /// Flushes, stops the sealer, fsyncs (unless durability is `.never`), closes the files and
    /// releases the run. Later calls throw; a second `close()` does nothing.
    public func close() throws(StoreError) {
        let sync = options.durability != .never
        let wasClosed = state.withLock { s in
            defer { s.closed = true }
            guard !s.closed else { return true }
            if s.failure == nil {
                s.sealAll(reserve: 0)
                s.enqueue(.flush(sync: sync))
            }
            s.stopping = true
            return false
        }
        guard !wasClosed else { return }
        state.broadcast()
        let failure = state.withLock(waitingWhile: { !$0.sealerExited }) { s in s.failure }
        sealerThread.join()
        // The sealer has exited: this thread owns the appender now.
        var closeError: StoreError?
        do {
            try appender.close()
        } catch {
            closeError = StoreError(.io, "closing segment \(appender.path)", underlying: error)
        }
        files.closeAll()
        if options.indexSnapshots, failure == nil, closeError == nil, recovery.problems.isEmpty { saveSnapshot() }
        do {
            try lockFile.close()  // releases the run's lock
        } catch {
            closeError = closeError ?? StoreError(.io, "closing the lock of run \(runID)", underlying: error)
        }
        if let failure { throw failure }
        if let closeError { throw closeError }
        onClose(runID)
    }

    /// Saves the index beside the log while the lock is still held, so the next open is fast. A
    /// cache: failing to write it costs only speed, so the failure is logged, not thrown.
    private func saveSnapshot() {
        let index = state.withLock { $0.index }
        do {
            if let snapshot = try IndexSnapshot.take(
                of: index, runID: runID, base: base, position: appender.end, directory: files.directory,
                fileSystem: options.fileSystem)
            {
                try snapshot.write(
                    directory: files.directory, fileSystem: options.fileSystem, sync: options.durability != .never)
            }
        } catch {
            options.logger.warning("saving the index snapshot of run \(runID) failed: \(error)")
        }
    }

    /// The index of what is written so far (not including unsealed points).
    public var index: RunIndex { state.withLock { $0.index } }

    /// The most points that were buffered at once: bounded by `maxBufferedPoints` (plus one block
    /// per series sealed early by `flush`).
    public var peakBufferedPoints: Int { state.withLock { $0.peakBufferedPoints } }

    /// The written blocks of `key` and its points not yet written, taken together under the lock.
    private func snapshot(_ key: String) throws(StoreError) -> ([BlockDescriptor], [MetricPoint])? {
        try state.withLock { (s) throws(StoreError) -> ([BlockDescriptor], [MetricPoint])? in
            if let failure = s.failure { throw failure }
            guard let slot = s.slots[key] else { return nil }
            return (s.index.series[key]?.blocks ?? [], s.unsealedPoints(slot))
        }
    }

    /// The points of `key` in `range`, in step order (ties by timestamp, then insertion), including
    /// points logged but not yet sealed or written.
    public func scan(_ key: String, range: ScanRange = .all) throws(StoreError) -> [MetricPoint] {
        guard let (blocks, unsealed) = try snapshot(key) else { return [] }
        return try RangeScan.run(blocks: blocks, unsealed: unsealed, range: range, files: files)
    }

    /// `scan(_:range:)` a chunk at a time, as `RunReader.scan(_:range:chunks:)` does.
    public func scan(
        _ key: String, range: ScanRange = .all, chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        guard let (blocks, unsealed) = try snapshot(key) else { return }
        try RangeScan.forEachChunk(blocks: blocks, unsealed: unsealed, range: range, files: files, body)
    }
}
