/// Which points a scan wants: a step range, a timestamp range, or both (both must hold).
public struct ScanRange: Sendable, Hashable {
    public var steps: ClosedRange<Int64>?
    public var timestamps: ClosedRange<Int64>?

    public init(steps: ClosedRange<Int64>? = nil, timestamps: ClosedRange<Int64>? = nil) {
        self.steps = steps
        self.timestamps = timestamps
    }

    public static let all = ScanRange()

    var isAll: Bool { steps == nil && timestamps == nil }

    @inline(__always)
    func contains(_ point: MetricPoint) -> Bool {
        (steps?.contains(point.step) ?? true) && (timestamps?.contains(point.timestamp) ?? true)
    }

    func overlaps(_ summary: BlockSummary) -> Bool {
        if let steps, steps.upperBound < summary.minStep || steps.lowerBound > summary.maxStep { return false }
        if let timestamps, timestamps.upperBound < summary.minTimestamp || timestamps.lowerBound > summary.maxTimestamp
        {
            return false
        }
        return true
    }
}

/// A range scan of one series: decodes only the blocks that overlap the range, adds the points not
/// yet sealed, and returns them in step order, ties by timestamp, then in insertion order.
enum RangeScan {
    static func run(
        blocks: [BlockDescriptor], unsealed: [MetricPoint], range: ScanRange, files: SegmentFiles
    ) throws(StoreError) -> [MetricPoint] {
        let selected = range.isAll ? blocks : blocks.filter { range.overlaps($0.summary) }
        let held = try files.open(Set(selected.map(\.segment)))
        let capacity = selected.reduce(0) { $0 + $1.summary.count } + unsealed.count
        var record: [UInt8] = []
        var scratch: [UInt8] = []
        var blockPoints: [MetricPoint] = []
        var failure: StoreError?
        var points = [MetricPoint](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            do throws(StoreError) {
                for block in selected {
                    try files.readRecord(block, into: &record, from: held)
                    if range.isAll {
                        try decode(block, record, &scratch, into: base + initialized * MetricPoint.stride, files)
                        initialized += block.summary.count
                    } else {
                        if blockPoints.count < block.summary.count {
                            blockPoints = [MetricPoint](
                                repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: block.summary.count)
                        }
                        try blockPoints.withUnsafeMutableBytes { raw in
                            Result { () throws(StoreError) in
                                try decode(block, record, &scratch, into: raw.baseAddress!, files)
                            }
                        }.get()
                        for point in blockPoints[..<block.summary.count] where range.contains(point) {
                            (buffer.baseAddress! + initialized).initialize(to: point)
                            initialized += 1
                        }
                    }
                }
            } catch {
                failure = error
                return
            }
            for point in unsealed where range.isAll || range.contains(point) {
                (buffer.baseAddress! + initialized).initialize(to: point)
                initialized += 1
            }
        }
        if let failure { throw failure }
        sortStably(&points)
        return points
    }

    /// Like `run`, but hands the points to `body` in order, a block at a time, from one reused
    /// buffer, so a long history never sits in memory whole. When blocks overlap in steps (steps
    /// logged out of order), the points are merged first and handed over in one piece.
    static func forEachChunk(
        blocks: [BlockDescriptor], unsealed: [MetricPoint], range: ScanRange, files: SegmentFiles,
        _ body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        let selected = range.isAll ? blocks : blocks.filter { range.overlaps($0.summary) }
        let held = try files.open(Set(selected.map(\.segment)))
        guard isOrdered(selected, unsealed) else {
            let points = try run(blocks: selected, unsealed: unsealed, range: range, files: files)
            try points.withUnsafeBufferPointer(body)
            return
        }
        var record: [UInt8] = []
        var scratch: [UInt8] = []
        let largest = selected.map(\.summary.count).max() ?? 0
        var chunk = [MetricPoint](repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: largest)
        for block in selected {
            try files.readRecord(block, into: &record, from: held)
            let kept = try chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                try decode(block, record, &scratch, into: UnsafeMutableRawPointer(buffer.baseAddress!), files)
                guard !range.isAll else { return block.summary.count }
                var kept = 0
                for i in 0..<block.summary.count where range.contains(buffer[i]) {
                    buffer[kept] = buffer[i]
                    kept += 1
                }
                return kept
            }
            try chunk.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<kept])) }
        }
        let tail = range.isAll ? unsealed : unsealed.filter(range.contains)
        if !tail.isEmpty { try tail.withUnsafeBufferPointer(body) }
    }

    /// Whether the blocks follow each other in strictly increasing steps and the unsealed points
    /// are sorted and come after them: then concatenation is already in scan order.
    static func isOrdered(_ blocks: [BlockDescriptor], _ unsealed: [MetricPoint]) -> Bool {
        var last = Int64.min
        for (i, block) in blocks.enumerated() {
            if i > 0 && block.summary.minStep <= last { return false }
            last = block.summary.maxStep
        }
        guard let first = unsealed.first else { return true }
        if !blocks.isEmpty && first.step <= last { return false }
        return zip(unsealed, unsealed.dropFirst()).allSatisfy { a, b in
            a.step < b.step || (a.step == b.step && a.timestamp <= b.timestamp)
        }
    }

    private static func decode(
        _ block: BlockDescriptor, _ record: [UInt8], _ scratch: inout [UInt8], into out: UnsafeMutableRawPointer,
        _ files: SegmentFiles
    ) throws(StoreError) {
        do {
            try record.withUnsafeBytes { raw in
                Result { () throws(DecodeError) in
                    let payload = UnsafeRawBufferPointer(rebasing: raw[RecordFrame.headerSize...])
                    let header = try BlockDecoder.decode(
                        payload, scratch: &scratch, into: out, capacity: block.summary.count)
                    guard header.summary == block.summary else {
                        throw DecodeError("block header differs from the index")
                    }
                }
            }.get()
        } catch {
            throw StoreError(
                .corruption, "decoding a block",
                location: DiskLocation(file: files.path(of: block.segment), offset: block.offset), underlying: error)
        }
    }

    /// Blocks are sorted inside; across blocks, and for unsealed points, order holds only when steps
    /// only grew. Otherwise: a stable sort by (step, timestamp), the position breaking ties.
    static func sortStably(_ points: inout [MetricPoint]) {
        var sorted = true
        points.withUnsafeBufferPointer { p in
            var i = 1
            while i < p.count {
                let a = p[i - 1], b = p[i]
                if b.step < a.step || (b.step == a.step && b.timestamp < a.timestamp) {
                    sorted = false
                    break
                }
                i += 1
            }
        }
        if sorted { return }
        let order = points.indices.sorted { a, b in
            (points[a].step, points[a].timestamp, a) < (points[b].step, points[b].timestamp, b)
        }
        points = order.map { points[$0] }
    }
}
