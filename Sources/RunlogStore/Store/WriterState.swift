/// Work for the sealer thread, in log order.
enum SealJob {
    case block(key: String, points: [MetricPoint])
    case record(RunRecord)
    /// Marks a `flush()`; `sync` asks for an fsync once everything before it is written.
    case flush(sync: Bool)
}

/// Everything a writer shares between callers and its sealer thread; guarded by the writer's lock.
/// Points not yet sealed are staged in the writer's shards (`StagingShard`), not here.
struct WriterState {
    /// Series key by slot, and slot by key (`slot(of:)`).
    private(set) var slotKeys: [String] = []
    private var slotPositions = KeyPositions()
    /// Jobs waiting for the sealer or being written by it; removed once published to `index`.
    var pending: [SealJob] = []
    /// Jobs ever enqueued, and ever completed: `flush()` waits for `completed` to reach its job.
    var enqueued = 0
    var completed = 0
    /// Points in `pending` blocks: what backpressure bounds, with what the shards stage.
    var pendingPoints = 0
    var peakBufferedPoints = 0
    /// Blocks and records written to the log.
    var index: RunIndex
    /// The log's base: the newest compacted segment (segments below it are replaced).
    var base: UInt32
    /// What decides when a live compaction starts (`LiveCompaction`).
    var live: LiveCompaction.Progress
    /// Set once a write or fsync fails; every later call throws it.
    var failure: StoreError?
    var closed = false
    /// Tells the sealer to exit once `pending` is empty.
    var stopping = false
    var sealerExited = false

    init(index: RunIndex, base: UInt32, live: LiveCompaction.Progress) {
        self.index = index
        self.base = base
        self.live = live
        for key in index.keys { addSlot(key) }
    }

    /// The slot of the series `key`, if it has one.
    func slot(of key: String) -> Int? {
        slotPositions.find(key) { slotKeys[$0] }
    }

    @discardableResult
    mutating func addSlot(_ key: String) -> Int {
        let slot = slotKeys.count
        slotKeys.append(key)
        let keys = slotKeys  // a second reference only until the positions have it
        slotPositions.insert(key, at: slot) { keys[$0] }
        return slot
    }

    func checkOpen() throws(StoreError) {
        if let failure { throw failure }
        if closed { throw StoreError(.closed, "the run writer is closed") }
    }

    /// Hands blocks taken from a shard to the sealer.
    mutating func enqueue(_ blocks: [(slot: Int, points: [MetricPoint])]) {
        for (slot, points) in blocks where !points.isEmpty {
            pending.append(.block(key: slotKeys[slot], points: points))
            pendingPoints += points.count
            enqueued += 1
        }
    }

    mutating func enqueue(_ job: SealJob) {
        pending.append(job)
        enqueued += 1
    }

    /// The points of `slot` in pending blocks, in insertion order.
    func pendingPoints(of slot: Int) -> [MetricPoint] {
        let key = slotKeys[slot]
        var points: [MetricPoint] = []
        for case .block(let blockKey, let blockPoints) in pending where blockKey == key {
            points.append(contentsOf: blockPoints)
        }
        return points
    }
}

/// What the threads given one shard (by `ThreadOrdinal`) have staged, by series slot: `log`
/// takes only its shard's lock, so threads logging into one run do not all wait on one lock. A
/// shard hands a series' points to the sealer when they make a block, and all it holds when it
/// has staged its share of the buffer.
struct ShardState {
    var staging: [[MetricPoint]] = []
    /// Slot by key, as the writer assigned them: `log(key…)` finds its slot without the writer's lock.
    var slots: [String: Int] = [:]
    /// Points staged here.
    var count = 0

    /// Below this many staged points, a sealed slot keeps no room (an empty array allocates nothing).
    static let smallestRoom = 64

    @inline(__always)
    mutating func append(_ point: MetricPoint, slot: Int) {
        while staging.count <= slot { staging.append([]) }
        staging[slot].append(point)
        count += 1
    }

    /// Takes the staged points of `slot`. The slot keeps room for as many points as it just
    /// staged, at most `reserve`: a hot series does not regrow its buffer, and a flush of many
    /// series that each staged a few points does not keep a block's room for each (with a million
    /// keys, that was a million large allocations).
    mutating func take(_ slot: Int, reserve: Int) -> [MetricPoint] {
        var fresh: [MetricPoint] = []
        let staged = staging[slot].count
        if staged >= Self.smallestRoom { fresh.reserveCapacity(min(reserve, staged)) }
        swap(&fresh, &staging[slot])
        count -= fresh.count
        return fresh
    }

    mutating func takeAll(reserve: Int) -> [(slot: Int, points: [MetricPoint])] {
        var taken: [(slot: Int, points: [MetricPoint])] = []
        for slot in staging.indices where !staging[slot].isEmpty { taken.append((slot, take(slot, reserve: reserve))) }
        return taken
    }
}
