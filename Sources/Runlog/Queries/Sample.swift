import RunlogStore

extension TrackingStore {
    /// At most `maxPoints` real points of `key` in `range` that draw the same curve as all of
    /// them: the steps are cut into `maxPoints / 4` equal buckets and of each bucket the first,
    /// the last, the smallest and the largest point are kept (fewer where they coincide), in step
    /// order. Unlike sampling every n-th step, a one-step spike always survives. A history of no
    /// more than `maxPoints` points comes back whole.
    public func sample(
        _ run: RunID, _ key: String, maxPoints: Int, range: ScanRange = .all, allowDamaged: Bool = false
    ) throws(RunlogError) -> [MetricPoint] {
        guard maxPoints >= 1 else { throw RunlogError(.invalidArgument, "a sample wants at least 1 point") }
        let reader = try reader(run, key, allowDamaged: allowDamaged)
        guard let summary = reader.index.series(key)?.summary, let steps = Self.span(of: summary, range, axis: .step)
        else { return [] }
        let low = steps.lowerBound
        let bounded = ScanRange(steps: steps, timestamps: range.timestamps)
        if summary.count <= maxPoints { return try history(of: run, key, range: bounded, allowDamaged: allowDamaged) }
        let buckets = Swift.max(1, maxPoints / 4)
        let span = UInt64(bitPattern: steps.upperBound &- low) / UInt64(buckets) + 1
        var kept: [MetricPoint] = []
        kept.reserveCapacity(buckets * 4)
        var current = -1
        var chosen = Chosen()
        func close() {
            guard current >= 0 else { return }
            chosen.append(to: &kept)
        }
        try scanning("sampling \(key) of run \(run)") {
            try reader.scan(key, range: bounded) { chunk in
                for point in chunk {
                    let bucket = Int(UInt64(bitPattern: point.step &- low) / span)
                    if bucket != current {
                        close()
                        current = bucket
                        chosen = Chosen()
                    }
                    chosen.add(point)
                }
            }
        }
        close()
        return kept
    }
}

/// The points one bucket keeps, each with its position in scan order so they come out in order.
private struct Chosen {
    var first: (MetricPoint, Int)?
    var last: (MetricPoint, Int)?
    var smallest: (MetricPoint, Int)?
    var largest: (MetricPoint, Int)?
    var seen = 0

    mutating func add(_ point: MetricPoint) {
        let entry = (point, seen)
        seen += 1
        if first == nil { first = entry }
        last = entry
        guard !point.value.isNaN else { return }
        if smallest.map({ point.value < $0.0.value }) ?? true { smallest = entry }
        if largest.map({ point.value > $0.0.value }) ?? true { largest = entry }
    }

    func append(to points: inout [MetricPoint]) {
        var entries = [first, smallest, largest, last].compactMap { $0 }
        entries.sort { $0.1 < $1.1 }
        var previous = -1
        for (point, position) in entries where position != previous {
            points.append(point)
            previous = position
        }
    }
}
