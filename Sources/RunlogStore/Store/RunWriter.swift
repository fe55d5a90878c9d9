import CRunlogThread
import Logging
import Synchronization

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
/// `log` stages points in memory under a short lock, its thread's shard's (threads logging into
/// one run mostly take different locks); a background sealer thread encodes, compresses,
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
    /// Called with the run's id once the writer has closed (the store queues it for compaction).
    let onClose: @Sendable (RunID) -> Void
    /// Joined by `close()`, so that a closed writer leaves no thread behind.
    let sealerThread: JoinableThread
    /// Identifies this writer's `Series` handles (an address could be reused by a later writer).
    let token = UInt64.random(in: 0...UInt64.max)
    /// Where threads stage their points, a thread's shard chosen by its `ThreadOrdinal`. Lock
    /// order: a shard's lock, then `state`'s; shards' locks among themselves only in index order
    /// (`snapshot`).
    let shards: StagingShards
    /// Points one shard stages at most before it hands them all to the sealer.
    let shardBudget: Int
    /// Points pending for the sealer beyond which a shard that hands it blocks waits: with the
    /// shards' budgets, at most `maxBufferedPoints` are buffered.
    let pendingBudget: Int
    /// Set when the writer starts closing or fails: `log` checks it under its shard's lock.
    let stopped: StopFlag

    init(
        runID: RunID, recovery: RecoveryReport, index: RunIndex, options: StoreOptions, files: SegmentFiles,
        appender: SegmentAppender, lockFile: any FileHandle, base: UInt32,
        scheduleLive: (@Sendable (LiveCompaction) -> Void)? = nil,
        onClose: @escaping @Sendable (RunID) -> Void = { _ in }
    ) throws(StoreError) {
        self.onClose = onClose
        self.runID = runID
        self.recovery = recovery
        self.options = options
        self.files = files
        self.appender = appender
        self.lockFile = lockFile
        let live = LiveCompaction.Progress(
            tailStart: appender.sequence,
            runBytes: LiveCompaction.liveBytes(directory: files.directory, base: base, fileSystem: options.fileSystem))
        self.state = ConditionLock(WriterState(index: index, base: base, live: live))
        // A shard per 4 blocks of buffer, at most 8, a power of two (a thread finds its shard by
        // a mask, not a division); each stages up to half the buffer's share.
        let limit = options.maxBufferedPoints
        let block = options.blockPoints
        let wanted = max(1, min(8, limit / (4 * block)))
        let count = 1 << (Int.bitWidth - 1 - wanted.leadingZeroBitCount)
        shards = StagingShards(count: count)
        shardBudget = min(limit, max(block, limit / (2 * count)))
        pendingBudget = max(block, limit - count * shardBudget)
        let stopped = StopFlag()
        self.stopped = stopped
        // A damaged run is not compacted while written: the damaged segment's bytes must stay.
        let sealer = Sealer(
            state: state, appender: appender, options: options, runID: runID, stopped: stopped,
            scheduleLive: recovery.problems.isEmpty ? scheduleLive : nil, files: files)
        do {
            sealerThread = try startJoinableThread { sealer.run() }
        } catch {
            shards.deallocate()  // deinit does not run for a writer that did not finish its init
            throw error
        }
    }

    deinit {
        do {
            try close()
        } catch {
            options.logger.error("closing run \(runID) on deinit failed: \(error)")
        }
        shards.deallocate()
    }

    /// The series named `key`, defined on first use.
    public func series(_ key: String) throws(StoreError) -> Series {
        try KeyRules.validateKey(key, field: "metric key")
        let slot = try state.withLock { (s) throws(StoreError) -> Int in
            try s.checkOpen()
            return s.slot(of: key) ?? s.addSlot(key)
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
        try stage(MetricPoint(step: step, timestamp: timestamp, value: value)) { (shard) throws(StoreError) in
            if let slot = shard.slots[key] { return slot }
            let slot = try state.withLock { (s) throws(StoreError) -> Int in
                try s.checkOpen()
                if let slot = s.slot(of: key) { return slot }
                try KeyRules.validateKey(key, field: "metric key")
                return s.addSlot(key)
            }
            shard.slots[key] = slot
            return slot
        }
    }

    /// Logs `points[i]` to `series[seriesOf[i]]`, in order, holding a lock once for the whole
    /// batch (a batch of a thousand points is one hold, not a thousand). Waits only when the
    /// buffer is full, as `log` does.
    public func log(_ points: [MetricPoint], series: [Series], seriesOf: [Int]) throws(StoreError) {
        precondition(points.count == seriesOf.count, "one series index a point")
        for one in series { precondition(one.writer == token, "series \"\(one.key)\" was made by another writer") }
        let shard = self.shard
        try shards.withLock(shard) { (sh) throws(StoreError) in
            try checkNotStopped()
            defer { shards[shard].count.store(sh.count, ordering: .relaxed) }
            for i in points.indices {
                let slot = series[seriesOf[i]].slot
                sh.append(points[i], slot: slot)
                try handIfFull(&sh, slot, shard)
            }
        }
    }

    /// The shard of the calling thread: threads take shards in turn, by the order they first logged.
    @inline(__always)
    private var shard: Int {
        shards.count == 1 ? 0 : ThreadOrdinal.current & (shards.count - 1)
    }

    /// Stages `point` in the slot `slot(shard)` names, under one hold of the shard's lock.
    @inline(__always)
    private func stage(
        _ point: MetricPoint, slot: (inout ShardState) throws(StoreError) -> Int
    ) throws(StoreError) {
        let shard = self.shard
        try shards.withLock(shard) { (sh) throws(StoreError) in
            try checkNotStopped()
            let slot = try slot(&sh)
            sh.append(point, slot: slot)
            try handIfFull(&sh, slot, shard)
            shards[shard].count.store(sh.count, ordering: .relaxed)
        }
    }

    /// Throws why the writer takes no more points, once it is closing or failed.
    @inline(__always)
    private func checkNotStopped() throws(StoreError) {
        guard stopped.value.load(ordering: .acquiring) else { return }
        try state.withLock { (s) throws(StoreError) in try s.checkOpen() }
        throw StoreError(.closed, "the run writer is closed")
    }

    /// With the shard's lock held: hands `slot`'s points to the sealer once they make a block,
    /// and everything the shard holds once it has staged its budget (many keys, each with fewer
    /// points than a block, can fill it).
    @inline(__always)
    private func handIfFull(_ sh: inout ShardState, _ slot: Int, _ shard: Int) throws(StoreError) {
        if sh.count >= shardBudget {
            try hand(sh.takeAll(reserve: 0), staged: sh.count, by: shard, waiting: true)
        } else if sh.staging[slot].count >= options.blockPoints {
            try hand(
                [(slot, sh.take(slot, reserve: options.blockPoints))], staged: sh.count, by: shard, waiting: true)
        }
    }

    /// With the lock of shard `shard` held (so that no scan sees the points in neither place): enqueues
    /// `blocks` for the sealer, first waiting, when `waiting`, while more than `pendingBudget`
    /// points are pending; `staged` is what the shard still holds.
    private func hand(
        _ blocks: [(slot: Int, points: [MetricPoint])], staged: Int, by shard: Int, waiting: Bool
    ) throws(StoreError) {
        let count = blocks.reduce(0) { $0 + $1.points.count }
        guard count > 0 else { return }
        let budget = waiting ? pendingBudget : Int.max
        try state.withLock(
            waitingWhile: {
                $0.pendingPoints > 0 && $0.pendingPoints + count > budget && $0.failure == nil && !$0.closed
            }
        ) { (s) throws(StoreError) in
            if let failure = s.failure { throw failure }
            s.enqueue(blocks)
            var buffered = s.pendingPoints + staged
            for other in 0..<shards.count where other != shard {
                buffered += shards[other].count.load(ordering: .relaxed)
            }
            if buffered > s.peakBufferedPoints { s.peakBufferedPoints = buffered }
        }
        state.broadcast()  // the sealer may be waiting for work; a waiting hand must not wait for it
    }

    /// Hands everything every shard has staged to the sealer, without waiting for room.
    private func handAll(reserve: Int) throws(StoreError) {
        for shard in 0..<shards.count {
            try shards.withLock(shard) { (sh) throws(StoreError) in
                let taken = sh.takeAll(reserve: reserve)
                shards[shard].count.store(sh.count, ordering: .relaxed)
                try hand(taken, staged: sh.count, by: shard, waiting: false)
            }
        }
    }

    /// Appends a metadata record (param, tag, input, status) to the log, in order with the sealed
    /// points. A status record seals the staged points first, so that a reader that sees a run
    /// end (FINISHED…) has every point logged before it: `tail` and live pages stop there.
    public func append(_ record: RunRecord) throws(StoreError) {
        try record.validate()
        try checkNotStopped()
        if case .status = record { try handAll(reserve: 0) }  // a run that ends logs no more: no room kept
        try state.withLock { (s) throws(StoreError) in
            try s.checkOpen()
            s.enqueue(.record(record))
        }
        state.broadcast()
    }

    /// Seals every staged point and returns once all of it is written — visible to readers in other
    /// processes — and, with `Durability.onFlush`, fsynced.
    public func flush() throws(StoreError) {
        let sync = options.durability == .onFlush
        try checkNotStopped()
        try handAll(reserve: options.blockPoints)
        let target = try state.withLock { (s) throws(StoreError) -> Int in
            try s.checkOpen()
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
        // Later logs throw; what the shards hold now goes to the sealer (a log holding its
        // shard's lock when the flag is set staged its point before the shard is emptied here; a
        // log that takes the lock after sees the flag and throws). A failed writer's points
        // cannot be written, so handing them fails: its failure is thrown below.
        stopped.value.store(true, ordering: .releasing)
        try? handAll(reserve: 0)
        let wasClosed = state.withLock { s in
            defer { s.closed = true }
            guard !s.closed else { return true }
            if s.failure == nil { s.enqueue(.flush(sync: sync)) }
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
        let (index, base) = state.withLock { ($0.index, $0.base) }
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

    /// The most points that were buffered at once (pending and staged), as seen each time a
    /// shard hands blocks to the sealer: bounded by `maxBufferedPoints` when it is at least
    /// twice `blockPoints` (plus one block per series sealed early by `flush`).
    public var peakBufferedPoints: Int { state.withLock { $0.peakBufferedPoints } }

    /// The written blocks of `key` and its points not yet written (pending, then staged shard by
    /// shard), taken together under every shard's lock and the writer's: points move from a
    /// shard to the sealer under both, so none is missed or seen twice.
    private func snapshot(_ key: String) throws(StoreError) -> ([BlockDescriptor], [MetricPoint])? {
        try snapshot(key, from: 0).map { ($0.blocks, $0.points) }
    }

    /// `snapshot(key)` holding the locks of shards `shard…` (this one, then the next, inside it).
    private func snapshot(
        _ key: String, from shard: Int
    ) throws(StoreError) -> (blocks: [BlockDescriptor], points: [MetricPoint], slot: Int)? {
        guard shard < shards.count else {
            return try state.withLock { (s) throws(StoreError) -> ([BlockDescriptor], [MetricPoint], Int)? in
                if let failure = s.failure { throw failure }
                guard let slot = s.slot(of: key) else { return nil }
                return (s.index.series[key]?.blocks ?? [], s.pendingPoints(of: slot), slot)
            }
        }
        return try shards.withLock(shard) { (sh) throws(StoreError) in
            guard var found = try snapshot(key, from: shard + 1) else { return nil }
            if found.slot < sh.staging.count { found.points.append(contentsOf: sh.staging[found.slot]) }
            return found
        }
    }

    /// The points of `key` in `range`, in step order (ties by timestamp, then insertion), including
    /// points logged but not yet sealed or written.
    public func scan(_ key: String, range: ScanRange = .all) throws(StoreError) -> [MetricPoint] {
        var attempts = 0
        while true {
            guard let (blocks, unsealed) = try snapshot(key) else { return [] }
            do {
                return try RangeScan.run(blocks: blocks, unsealed: unsealed, range: range, files: files)
            } catch  where error.isMissingFile && attempts < 8 {
                attempts += 1  // a live compaction replaced the blocks taken: take the new ones
            }
        }
    }

    /// `scan(_:range:)` a chunk at a time, as `RunReader.scan(_:range:chunks:)` does.
    public func scan(
        _ key: String, range: ScanRange = .all, chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        var attempts = 0
        while true {
            guard let (blocks, unsealed) = try snapshot(key) else { return }
            do {
                return try RangeScan.forEachChunk(blocks: blocks, unsealed: unsealed, range: range, files: files, body)
            } catch let error as StoreError where error.isMissingFile && attempts < 8 {
                // Segments are opened before the first chunk is handed out: nothing was delivered yet.
                attempts += 1
            }
        }
    }
}

/// One shard of a writer's staging (`RunWriter.shards`). No one waits on a shard, so its lock is
/// a `Mutex` (an atomic exchange when uncontended), not a `ConditionLock`.
struct StagingShard: ~Copyable {
    let state = Mutex(ShardState())
    /// `state`'s count, readable without its lock (for the peak of buffered points).
    let count = Atomic<Int>(0)
}

/// A writer's shards, in one allocation the writer frees when it is deinitialized: `log` reaches
/// its shard without retaining an array or a class instance (two retains and two releases were
/// 80 of the 330 instructions of a `log` by handle, under callgrind). Each shard starts a cache
/// line pair of its own, so threads on different cores do not share a line as they log.
///
/// `@unchecked Sendable`: a shard's staging is reached only under its `Mutex`, its count is atomic,
/// and the allocation outlives every call into the writer.
struct StagingShards: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    let count: Int
    private static let alignment = 128
    private static let stride =
        (MemoryLayout<StagingShard>.stride + alignment - 1) / alignment * alignment

    init(count: Int) {
        precondition(count >= 1 && count & (count - 1) == 0, "a power of two of shards")
        self.count = count
        base = .allocate(byteCount: count * Self.stride, alignment: Self.alignment)
        for i in 0..<count {
            (base + i * Self.stride).bindMemory(to: StagingShard.self, capacity: 1).initialize(to: StagingShard())
        }
    }

    /// Runs `body` on the staging of shard `shard`, under its lock.
    @inline(__always)
    func withLock<R, E: Error>(_ shard: Int, _ body: (inout ShardState) throws(E) -> R) throws(E) -> R {
        let address = UnsafeMutableRawPointer(mutating: self.address(of: shard))
        return try self[shard].state.withLock { (sh) throws(E) -> R in
            runlog_tsan_acquire(address)
            defer { runlog_tsan_release(address) }
            return try body(&sh)
        }
    }

    private func address(of shard: Int) -> UnsafeRawPointer {
        precondition(shard >= 0 && shard < count, "shard \(shard) of \(count)")
        return UnsafeRawPointer(base + shard &* Self.stride)
    }

    subscript(_ shard: Int) -> StagingShard {
        unsafeAddress { address(of: shard).assumingMemoryBound(to: StagingShard.self) }
    }

    /// Call once, when no one can reach the shards any more.
    func deallocate() {
        for i in 0..<count {
            _ = (base + i * Self.stride).assumingMemoryBound(to: StagingShard.self).deinitialize(count: 1)
        }
        base.deallocate()
    }
}

/// Whether a writer has started closing or has failed, readable without its lock.
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
