import Foundation
import RunlogStore
import Synchronization

/// What buckets and aligned histories are laid out along.
public enum Axis: String, Sendable, Hashable, CaseIterable {
    case step
    /// Timestamps, in milliseconds.
    case time
}

/// One bucket of a downsampled history: every point whose step (or timestamp) falls in
/// `start...end`, summarised so that extremes survive.
public struct Bucket: Sendable, Hashable {
    public var start: Int64
    public var end: Int64
    public var count: Int
    /// The smallest and largest non-NaN values, and their mean; NaN when all values are NaN.
    public var min: Double
    public var max: Double
    public var mean: Double
    /// The bucket's first and last points in scan order (step, then timestamp, then insertion).
    public var first: MetricPoint
    public var last: MetricPoint

    public static func == (a: Bucket, b: Bucket) -> Bool {
        a.start == b.start && a.end == b.end && a.count == b.count && a.min.bitPattern == b.min.bitPattern
            && a.max.bitPattern == b.max.bitPattern && a.mean.bitPattern == b.mean.bitPattern && a.first == b.first
            && a.last == b.last
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(start)
        hasher.combine(count)
    }
}

extension TrackingStore {
    /// The history of metric `key` of `run` in `range`: points in step order, ties by timestamp,
    /// then in logging order.
    ///
    /// A run whose log is damaged (`RunInfo.damage`) may have lost points, so by default every
    /// history query refuses it with a `.damaged` error naming each problem's file and offset;
    /// with `allowDamaged` it answers with what is left, and the caller reads `damage(of:)`.
    public func history(
        of run: RunID, _ key: String, range: ScanRange = .all, allowDamaged: Bool = false
    ) throws(RunlogError) -> [MetricPoint] {
        let reader = try reader(run, key, allowDamaged: allowDamaged)
        return try storage("scanning \(key) of run \(run)") { () throws(StoreError) in
            try reader.scan(key, range: range)
        }
    }

    /// The same history handed to `body` a chunk at a time, without holding it whole in memory.
    public func history(
        of run: RunID, _ key: String, range: ScanRange = .all, allowDamaged: Bool = false,
        chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        let reader = try reader(run, key, allowDamaged: allowDamaged)
        do {
            try reader.scan(key, range: range, chunks: body)
        } catch let error as StoreError {
            throw RunlogError.storage("scanning \(key) of run \(run)", error)
        }
    }

    /// The history of `key` in `range`, in `buckets` equal spans of `axis` between its first and
    /// last point; empty buckets are left out.
    public func downsample(
        _ run: RunID, _ key: String, buckets: Int, range: ScanRange = .all, axis: Axis = .step,
        allowDamaged: Bool = false
    ) throws(RunlogError) -> [Bucket] {
        guard buckets >= 1, buckets <= 1_000_000 else {
            throw RunlogError(.invalidArgument, "downsampling wants 1…1,000,000 buckets, not \(buckets)")
        }
        let reader = try reader(run, key, allowDamaged: allowDamaged)
        guard let summary = reader.index.series(key)?.summary, let span = Self.span(of: summary, range, axis: axis)
        else { return [] }
        var grid = BucketGrid(low: span.lowerBound, high: span.upperBound, count: buckets)
        try scanning("downsampling \(key) of run \(run)") {
            if axis == .step, let blocks = reader.orderedBlocks(key, range: range), blocks.count >= 8,
                let parallel = try Self.retryingAfterCompaction(
                    { try BucketGrid.parallel(grid, blocks: blocks, range: range, reader: reader) }, reader: reader)
            {
                grid = parallel
            } else if axis == .step {
                // Scans deliver points in step order: buckets are filled one after another.
                var cursor = BucketCursor(grid: grid)
                try reader.scan(key, range: range) { chunk in cursor.add(chunk, into: &grid) }
                cursor.finish(into: &grid)
            } else {
                try reader.scan(key, range: range) { chunk in
                    for point in chunk { grid.add(point, at: point.timestamp) }
                }
            }
        }
        return grid.buckets()
    }

    /// The part of a series' steps (or timestamps) that `range` keeps; nil when none.
    static func span(of summary: BlockSummary, _ range: ScanRange, axis: Axis) -> ClosedRange<Int64>? {
        var low = axis == .step ? summary.minStep : summary.minTimestamp
        var high = axis == .step ? summary.maxStep : summary.maxTimestamp
        if let bound = axis == .step ? range.steps : range.timestamps {
            low = Swift.max(low, bound.lowerBound)
            high = Swift.min(high, bound.upperBound)
        }
        return low <= high ? low...high : nil
    }

    /// The `.damaged` error for a run whose log lost data, naming each problem's file and offset.
    static func refuseDamaged(_ run: RunInfo) throws(RunlogError) {
        guard !run.damage.isEmpty else { return }
        throw RunlogError(
            .damaged,
            "run \(run.id) is damaged, so the answer would be incomplete: "
                + run.damage.map(\.description).joined(separator: "; "),
            underlying: RunDamage(run: run.id, problems: run.damage))
    }

    /// Runs a scan that reports through an untyped closure, its failure as a storage error saying
    /// what was being done.
    /// `scan`, or nil when a compaction replaced the blocks it was given (a live run's writer
    /// compacts what it has finished with) — after refreshing `reader`, so that a scan by key,
    /// which takes the new blocks, answers instead. Scans open their segments before they hand
    /// out a point: nothing was delivered.
    static func retryingAfterCompaction<T>(_ scan: () throws -> T, reader: RunReader) throws -> T? {
        do {
            return try scan()
        } catch let error as StoreError where error.isMissingFile {
            reader.closeFiles()
            try reader.refresh()
            return nil
        }
    }

    func scanning(_ doing: @autoclosure () -> String, _ body: () throws -> Void) throws(RunlogError) {
        do {
            try body()
        } catch let error as StoreError {
            throw RunlogError.storage(doing(), error)
        } catch {
            throw RunlogError(.storage, doing(), underlying: error)
        }
    }

    func reader(_ run: RunID, _ key: String, allowDamaged: Bool) throws(RunlogError) -> RunReader {
        let entry = try catalog.entry(run)
        if !allowDamaged { try Self.refuseDamaged(entry.info) }
        guard entry.reader.index.series(key) != nil else {
            let known = entry.reader.index.keys
            throw RunlogError(
                .notFound,
                "run \(run) has no metric \"\(key)\""
                    + (known.isEmpty ? "" : "; it has \(known.joined(separator: ", "))"))
        }
        return entry.reader
    }
}

/// `count` equal spans of `low...high` (the last ones one shorter when the span does not divide),
/// each accumulating the points that fall in it.
struct BucketGrid {
    let low: Int64
    /// The number of positions in `low...high`, minus one (fits in 64 bits even for the full range).
    let spanMinusOne: UInt64
    let count: Int
    private var accumulators: [Accumulator]

    struct Accumulator {
        var count = 0
        var finiteCount = 0
        var sum = 0.0
        var min = Double.nan
        var max = Double.nan
        var first = MetricPoint(step: 0, timestamp: 0, value: 0)
        var last = MetricPoint(step: 0, timestamp: 0, value: 0)
    }

    init(low: Int64, high: Int64, count: Int) {
        self.low = low
        self.spanMinusOne = UInt64(bitPattern: high &- low)
        self.count = count
        self.accumulators = Array(repeating: Accumulator(), count: count)
    }

    /// Which bucket position `at` falls in: ⌊(at − low) × count / span⌋, in 128-bit arithmetic.
    @inline(__always)
    func index(_ at: Int64) -> Int {
        let offset = UInt64(bitPattern: at &- low)
        let product = offset.multipliedFullWidth(by: UInt64(count))
        if spanMinusOne == UInt64.max { return Int(product.high) }  // span is 2^64
        return Int(UInt64(spanMinusOne + 1).dividingFullWidth(product).quotient)
    }

    @inline(__always)
    mutating func add(_ point: MetricPoint, at position: Int64) {
        let i = index(position)
        accumulators.withUnsafeMutableBufferPointer { buckets in
            if buckets[i].count == 0 { buckets[i].first = point }
            buckets[i].last = point
            buckets[i].count += 1
            let value = point.value
            if !value.isNaN {
                buckets[i].finiteCount += 1
                buckets[i].sum += value
                buckets[i].min = buckets[i].min.isNaN ? value : Swift.min(buckets[i].min, value)
                buckets[i].max = buckets[i].max.isNaN ? value : Swift.max(buckets[i].max, value)
            }
        }
    }

    mutating func merge(_ a: Accumulator, into i: Int) {
        accumulators[i] = a
    }

    /// Folds in a grid of the same shape filled from points that come after all of this grid's.
    mutating func absorb(_ later: BucketGrid) {
        for i in 0..<count where later.accumulators[i].count > 0 {
            let b = later.accumulators[i]
            guard accumulators[i].count > 0 else {
                accumulators[i] = b
                continue
            }
            accumulators[i].count += b.count
            accumulators[i].finiteCount += b.finiteCount
            accumulators[i].sum += b.sum
            if !b.min.isNaN {
                accumulators[i].min = accumulators[i].min.isNaN ? b.min : Swift.min(accumulators[i].min, b.min)
            }
            if !b.max.isNaN {
                accumulators[i].max = accumulators[i].max.isNaN ? b.max : Swift.max(accumulators[i].max, b.max)
            }
            accumulators[i].last = b.last
        }
    }

    /// Fills `empty` from `blocks` (in strictly increasing steps) on one thread per core, each
    /// taking a contiguous share of the points, and merges the shares in order.
    static func parallel(
        _ empty: BucketGrid, blocks: [BlockDescriptor], range: ScanRange, reader: RunReader
    ) throws -> BucketGrid {
        let workers = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, 8, blocks.count))
        let total = blocks.reduce(0) { $0 + $1.summary.count }
        var shares: [ArraySlice<BlockDescriptor>] = []
        var start = 0
        var points = 0
        for (i, block) in blocks.enumerated() {
            points += block.summary.count
            if points * workers >= total * (shares.count + 1) || i == blocks.count - 1 {
                shares.append(blocks[start...i])
                start = i + 1
            }
        }
        let slices = shares
        let results = Mutex<[Result<BucketGrid, any Error>?]>(Array(repeating: nil, count: slices.count))
        DispatchQueue.concurrentPerform(iterations: slices.count) { w in
            var grid = empty
            var cursor = BucketCursor(grid: grid)
            let result = Result { () throws -> BucketGrid in
                try reader.scan(blocks: slices[w], range: range) { chunk in cursor.add(chunk, into: &grid) }
                cursor.finish(into: &grid)
                return grid
            }
            results.withLock { $0[w] = result }
        }
        var merged = empty
        for result in results.withLock({ $0 }) { merged.absorb(try result!.get()) }
        return merged
    }

    /// The first position of bucket `i`: low + ⌈i × span / count⌉.
    func start(_ i: Int) -> Int64 {
        if i == 0 { return low }
        let span = spanMinusOne == UInt64.max ? nil : spanMinusOne + 1
        let product: (high: UInt64, low: UInt64) =
            span.map { UInt64(i).multipliedFullWidth(by: $0) } ?? (UInt64(i), 0)
        let (quotient, remainder) = UInt64(count).dividingFullWidth(product)
        return low &+ Int64(bitPattern: quotient &+ (remainder > 0 ? 1 : 0))
    }

    func buckets() -> [Bucket] {
        var result: [Bucket] = []
        for i in 0..<count where accumulators[i].count > 0 {
            let a = accumulators[i]
            let end = i + 1 < count ? start(i + 1) &- 1 : low &+ Int64(bitPattern: spanMinusOne)
            result.append(
                Bucket(
                    start: start(i), end: end, count: a.count, min: a.min, max: a.max,
                    mean: a.finiteCount > 0 ? a.sum / Double(a.finiteCount) : .nan, first: a.first, last: a.last))
        }
        return result
    }
}

/// Fills a grid from points in ascending position: the current bucket accumulates in locals and
/// is stored when a point passes its end, so no point pays for a division.
struct BucketCursor {
    private var index = -1
    private var end = Int64.min
    private var current = BucketGrid.Accumulator()
    private let count: Int

    init(grid: BucketGrid) {
        count = grid.count
    }

    mutating func add(_ points: UnsafeBufferPointer<MetricPoint>, into grid: inout BucketGrid) {
        for point in points {
            if point.step > end || index < 0 {
                if index >= 0 && current.count > 0 { grid.merge(current, into: index) }
                index = grid.index(point.step)
                end = index + 1 < count ? grid.start(index + 1) &- 1 : Int64.max
                current = BucketGrid.Accumulator()
                current.first = point
            }
            current.count += 1
            current.last = point
            let value = point.value
            if !value.isNaN {
                current.finiteCount += 1
                current.sum += value
                if current.min.isNaN || value < current.min { current.min = value }
                if current.max.isNaN || value > current.max { current.max = value }
            }
        }
    }

    func finish(into grid: inout BucketGrid) {
        if index >= 0 && current.count > 0 { grid.merge(current, into: index) }
    }
}
