/// What the index knows of a block without decoding it. Stored in the block header.
public struct BlockSummary: Sendable, Hashable {
    public var count: Int
    public var minStep: Int64
    public var maxStep: Int64
    public var minTimestamp: Int64
    public var maxTimestamp: Int64
    /// The smallest and largest non-NaN values; NaN when every value is NaN.
    public var minValue: Double
    public var maxValue: Double
    /// The point with the greatest (step, timestamp, value), as MLflow defines "latest"; values
    /// compare in IEEE-754 total order.
    public var latest: MetricPoint

    /// The summary of `points`, which must not be empty.
    init(of points: UnsafeBufferPointer<MetricPoint>) {
        let first = points[0]
        var summary = BlockSummary(
            count: points.count, minStep: first.step, maxStep: first.step,
            minTimestamp: first.timestamp, maxTimestamp: first.timestamp,
            minValue: .nan, maxValue: .nan, latest: first)
        for point in points { summary.add(point) }
        summary.count = points.count
        self = summary
    }

    init(
        count: Int, minStep: Int64, maxStep: Int64, minTimestamp: Int64, maxTimestamp: Int64,
        minValue: Double, maxValue: Double, latest: MetricPoint
    ) {
        self.count = count
        self.minStep = minStep
        self.maxStep = maxStep
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.minValue = minValue
        self.maxValue = maxValue
        self.latest = latest
    }

    @inline(__always)
    mutating func add(_ point: MetricPoint) {
        minStep = min(minStep, point.step)
        maxStep = max(maxStep, point.step)
        minTimestamp = min(minTimestamp, point.timestamp)
        maxTimestamp = max(maxTimestamp, point.timestamp)
        if !point.value.isNaN {
            minValue = minValue.isNaN ? point.value : min(minValue, point.value)
            maxValue = maxValue.isNaN ? point.value : max(maxValue, point.value)
        }
        if BlockSummary.isLater(point, than: latest) { latest = point }
    }

    /// Merges another summary into this one (the series-level summary of many blocks).
    mutating func merge(_ other: BlockSummary) {
        let total = count + other.count
        add(other.latest)
        minStep = min(minStep, other.minStep)
        maxStep = max(maxStep, other.maxStep)
        minTimestamp = min(minTimestamp, other.minTimestamp)
        maxTimestamp = max(maxTimestamp, other.maxTimestamp)
        if !other.minValue.isNaN { minValue = minValue.isNaN ? other.minValue : min(minValue, other.minValue) }
        if !other.maxValue.isNaN { maxValue = maxValue.isNaN ? other.maxValue : max(maxValue, other.maxValue) }
        count = total
    }

    /// Equality of stored bits, so that NaN summaries compare equal to themselves.
    public static func == (a: BlockSummary, b: BlockSummary) -> Bool {
        a.count == b.count && a.minStep == b.minStep && a.maxStep == b.maxStep
            && a.minTimestamp == b.minTimestamp && a.maxTimestamp == b.maxTimestamp
            && a.minValue.bitPattern == b.minValue.bitPattern && a.maxValue.bitPattern == b.maxValue.bitPattern
            && a.latest == b.latest
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(minStep)
        hasher.combine(maxStep)
        hasher.combine(latest)
    }

    /// MLflow's order for "latest": step, then timestamp, then value.
    static func isLater(_ a: MetricPoint, than b: MetricPoint) -> Bool {
        if a.step != b.step { return a.step > b.step }
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        return !a.value.isTotallyOrdered(belowOrEqualTo: b.value)
    }
}
