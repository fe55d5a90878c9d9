import Logging

/// The writer's background thread: takes the pending jobs in order, encodes and compresses blocks,
/// frames records, writes them in one call per batch, fsyncs as the durability setting asks, and
/// publishes what it wrote to the writer's index. The first failure latches the writer.
struct Sealer: Sendable {
    let state: ConditionLock<WriterState>
    let appender: SegmentAppender
    let options: StoreOptions
    let runID: RunID
    let stopped: StopFlag
    /// Queues a live compaction on the store's compaction thread; nil when the writer never
    /// compacts while it writes (background compaction is off, or the run is damaged).
    let scheduleLive: (@Sendable (LiveCompaction) -> Void)?
    let files: SegmentFiles

    func run() {
        var encoder = BlockEncoder()
        var payload: [UInt8] = []
        var lastSync = monotonicNanoseconds()
        let interval: Int64? =
            if case .interval(let milliseconds) = options.durability { Int64(milliseconds) * 1_000_000 } else { nil }
        while true {
            let deadline: Int64? =
                if let interval, appender.dirty {
                    realtimeNanoseconds() + max(0, lastSync + interval - monotonicNanoseconds())
                } else { nil }
            let batch = state.withLock(
                waitingWhile: { $0.pending.isEmpty && !$0.stopping && $0.failure == nil },
                deadline: deadline
            ) { s -> [SealJob]? in
                if s.failure != nil || (s.pending.isEmpty && s.stopping) { return nil }
                return s.pending
            }
            guard let batch else { break }
            do {
                var blocks: [(String, BlockDescriptor)] = []
                var records: [RunRecord] = []
                var syncRequested = false
                var bytes = 0
                for job in batch {
                    switch job {
                    case .block(let key, let points):
                        guard !points.isEmpty else { continue }
                        payload.removeAll(keepingCapacity: true)
                        let header = encoder.encode(
                            key: key, points: points, compress: options.compression, into: &payload)
                        let record = RecordFrame.framed(type: .block, payload: payload)
                        let (segment, offset) = try appender.add(record)
                        bytes += record.count
                        blocks.append(
                            (
                                key,
                                BlockDescriptor(
                                    segment: segment, offset: offset, length: record.count, summary: header.summary)
                            ))
                    case .record(let record):
                        let framed = RecordFrame.framed(type: record.type, payload: record.payload())
                        _ = try appender.add(framed)
                        bytes += framed.count
                        records.append(record)
                    case .flush(let sync):
                        syncRequested = syncRequested || sync
                    }
                }
                try appender.writeOut()
                if syncRequested || (interval.map { monotonicNanoseconds() - lastSync >= $0 } ?? false) {
                    try appender.sync()
                    lastSync = monotonicNanoseconds()
                }
                if publish(batch, blocks, records, bytes: bytes), let scheduleLive {
                    scheduleLive(try startLiveCompaction())
                }
            } catch {
                fail(error)
                break
            }
        }
        state.withLock { $0.sealerExited = true }
        state.broadcast()
    }

    /// Returns whether a live compaction is due (`LiveCompaction.Progress.isDue`), and if so
    /// marks it running.
    private func publish(
        _ batch: [SealJob], _ blocks: [(String, BlockDescriptor)], _ records: [RunRecord], bytes: Int
    ) -> Bool {
        // Blocks under half the configured size are what flushes seal early.
        let small = options.blockPoints / 2
        defer { state.broadcast() }
        return state.withLock { s in
            s.pending.removeFirst(batch.count)
            s.completed += batch.count
            s.live.runBytes += Int64(bytes)
            for (key, block) in blocks {
                if scheduleLive != nil { s.live.count(block, after: s.index.series[key]?.lastBlock, smallBelow: small) }
                s.index.add(block, key: key)
                s.pendingPoints -= block.summary.count
            }
            s.index.records.append(contentsOf: records)
            guard scheduleLive != nil, !s.stopping, s.live.isDue(minimum: options.liveCompactionBytes) else {
                return false
            }
            s.live.running = true
            return true
        }
    }

    /// Ends the segment being written, leaving a sequence number for the compaction's output, and
    /// returns the job that compacts everything up to it. A failure to start the next segment
    /// fails the writer, as any failed write does.
    private func startLiveCompaction() throws -> LiveCompaction {
        let ended = try appender.rollLeavingGap()
        let (source, base) = state.withLock { s in
            s.live.tailStart = ended + 2
            s.live.mergeableBytes = 0
            return (s.index, s.base)
        }
        return LiveCompaction(
            runID: runID, directory: appender.directory, source: source, base: base, ended: ended, state: state,
            files: files, options: options)
    }

    private func fail(_ error: any Error) {
        let failure = StoreError(
            .failed, "writing run \(runID) to \(appender.path) failed; the writer accepts no more data",
            underlying: error)
        options.logger.error("\(failure)")
        state.withLock { s in
            s.failure = failure
            s.pending.removeAll()
            s.pendingPoints = 0
        }
        stopped.value.store(true, ordering: .releasing)
        state.broadcast()
    }
}
