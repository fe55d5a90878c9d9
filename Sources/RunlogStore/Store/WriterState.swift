/// Work for the sealer thread, in log order.
enum SealJob {
    case block(key: String, points: [MetricPoint])
    case record(RunRecord)
    /// Marks a `flush()`; `sync` asks for an fsync once everything before it is written.
    case flush(sync: Bool)
}

/// Everything a writer shares between callers and its sealer thread; guarded by the writer's lock.
struct WriterState {
    /// Staged points by series slot, in insertion order.
    var staging: [[MetricPoint]] = []
    /// Series key by slot, and slot by key.
    var slotKeys: [String] = []
    var slots: [String: Int] = [:]
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
        for key in index.keys { addSlot(key) }
    }

    @discardableResult
    mutating func addSlot(_ key: String) -> Int {
        let slot = slotKeys.count
        slots[key] = slot
        slotKeys.append(key)
        staging.append([])
        return slot
    }

    func checkOpen() throws(StoreError) {
        if let failure { throw failure }
        if closed { throw StoreError(.closed, "the run writer is closed") }
    }

    /// Below this many staged points, a sealed slot keeps no room (an empty array allocates nothing).
    static let smallestRoom = 64

    /// Hands the staged points of `slot` to the sealer. The slot keeps room for as many points as
    /// it just staged, at most `reserve`: a hot series does not regrow its buffer, and a flush of
    /// many series that each staged a few points does not keep a block's room for each (with a
    /// million keys, that was a million large allocations).
    mutating func seal(_ slot: Int, reserve: Int) {
        var fresh: [MetricPoint] = []
        let staged = staging[slot].count
        if staged >= Self.smallestRoom { fresh.reserveCapacity(min(reserve, staged)) }
        swap(&fresh, &staging[slot])
        pending.append(.block(key: slotKeys[slot], points: fresh))
        enqueued += 1
    }

    mutating func sealAll(reserve: Int) {
        for slot in staging.indices where !staging[slot].isEmpty { seal(slot, reserve: reserve) }
    }

    /// When the buffer is full, everything staged goes to the sealer, so that what a logger
    /// waits for (the sealer draining the buffer) happens even when no series has a whole block
    /// staged: many keys, each with fewer points than a block, can fill it. Without room kept,
    /// as a million keys would need too much of it.
    mutating func sealWhenFull() {
        sealAll(reserve: 0)
    }

    mutating func enqueue(_ job: SealJob) {
        pending.append(job)
        enqueued += 1
    }

    /// The points of `slot` not yet in `index`: pending blocks, then staged points, in insertion order.
    func unsealedPoints(_ slot: Int) -> [MetricPoint] {
        let key = slotKeys[slot]
        var points: [MetricPoint] = []
        for case .block(let blockKey, let blockPoints) in pending where blockKey == key {
            points.append(contentsOf: blockPoints)
        }
        points.append(contentsOf: staging[slot])
        return points
    }
}
