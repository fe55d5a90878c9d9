/// Where each key is in an array of keys its owner keeps: an open-addressing hash table (linear
/// probing, at most three quarters full) of positions only, 4 bytes a bucket. A `[String: Int32]`
/// beside the same array kept each key a second time, 20 bytes a bucket; at a million keys it
/// has two million buckets either way, so 8 bytes a key here against 40.
///
/// The owner passes the key at a position (`keyAt`) to every call, and never reorders or removes
/// keys: positions only grow.
struct KeyPositions: Sendable {
    /// A position plus one per bucket, 0 for an empty bucket; a power of two of them, or none.
    private var buckets: [UInt32] = []
    private(set) var count = 0

    /// The position of `key`.
    @inline(__always)
    func find(_ key: String, keyAt: (Int) -> String) -> Int? {
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count &- 1
        var bucket = key.hashValue & mask
        while true {
            let stored = buckets[bucket]
            if stored == 0 { return nil }
            let position = Int(stored &- 1)
            if keyAt(position) == key { return position }
            bucket = (bucket &+ 1) & mask
        }
    }

    /// Records that `key`, not yet in the table, is at `position`.
    mutating func insert(_ key: String, at position: Int, keyAt: (Int) -> String) {
        precondition(position >= 0 && position < Int(UInt32.max), "key position \(position)")
        if (count + 1) * 4 > buckets.count * 3 { grow(keyAt: keyAt) }
        place(hash: key.hashValue, position: position)
        count += 1
    }

    private mutating func place(hash: Int, position: Int) {
        let mask = buckets.count &- 1
        var bucket = hash & mask
        while buckets[bucket] != 0 { bucket = (bucket &+ 1) & mask }
        buckets[bucket] = UInt32(position &+ 1)
    }

    /// Doubles the buckets (16 at first) and places every position again.
    private mutating func grow(keyAt: (Int) -> String) {
        let old = buckets
        buckets = [UInt32](repeating: 0, count: max(16, old.count * 2))
        for stored in old where stored != 0 {
            let position = Int(stored &- 1)
            place(hash: keyAt(position).hashValue, position: position)
        }
    }
}
