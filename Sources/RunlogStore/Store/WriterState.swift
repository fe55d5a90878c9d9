/// Work for the sealer thread, in log order.
enum SealJob {
    case define(SeriesDefinition)
    case block(seriesID: UInt32, points: [MetricPoint])
    case record(RunRecord)
    /// Marks a `flush()`; `sync` asks for an fsync once everything before it is written.
    case flush(sync: Bool)
}

/// Everything a writer shares between callers and its sealer thread; guarded by the writer's lock.
struct WriterState {
    /// Staged points by series slot, in insertion order.
    var staging: [[MetricPoint]] = []
    /// Series id and key by slot.
    var slotIDs: [UInt32] = []
    var slots: [String: Int] = [:]
    var nextSeriesID: UInt32 = 0
    /// Jobs waiting for the sealer or being written by it; removed once published to `index`.
    var pending: [SealJob] = []
    /// Jobs ever enqueued, and ever completed: `flush()` waits for `completed` to reach its job.
    var enqueued = 0
    var completed = 0
    /// Points staged or pending: what backpressure bounds.
    var bufferedPoints = 0
    var peakBufferedPoints = 0
    /// Blocks and records written to the log.
    var index: RunIndex
    /// Set once a write or fsync fails; every later call throws it.
    var failure: StoreError?
    var closed = false
    /// Tells the sealer to exit once `pending` is empty.
    var stopping = false
    var sealerExited = false

    init(index: RunIndex) {
        self.index = index
        for (id, series) in index.series.sorted(by: { $0.key < $1.key }) {
            slots[series.key] = slotIDs.count
            slotIDs.append(id)
            staging.append([])
            nextSeriesID = max(nextSeriesID, id &+ 1)
        }
    }

    func checkOpen() throws(StoreError) {
        if let failure { throw failure }
        if closed { throw StoreError(.closed, "the run writer is closed") }
    }

    mutating func seal(_ slot: Int, reserve: Int) {
        var fresh: [MetricPoint] = []
        fresh.reserveCapacity(reserve)
        swap(&fresh, &staging[slot])
        pending.append(.block(seriesID: slotIDs[slot], points: fresh))
        enqueued += 1
    }

    mutating func sealAll(reserve: Int) {
        for slot in staging.indices where !staging[slot].isEmpty { seal(slot, reserve: reserve) }
    }

    mutating func enqueue(_ job: SealJob) {
        pending.append(job)
        enqueued += 1
    }

    /// The points of `slot` not yet in `index`: pending blocks, then staged points, in insertion order.
    func unsealedPoints(_ slot: Int) -> [MetricPoint] {
        let id = slotIDs[slot]
        var points: [MetricPoint] = []
        for case .block(let seriesID, let blockPoints) in pending where seriesID == id {
            points.append(contentsOf: blockPoints)
        }
        points.append(contentsOf: staging[slot])
        return points
    }
}
