/// What the index knows of a block, or of a whole series, without decoding: stored in each block
/// header and merged across blocks.
public struct BlockSummary: Sendable, Hashable {
    public var count: Int
    public var minStep: Int64
    public var maxStep: Int64
    public var minTimestamp: Int64
    public var maxTimestamp: Int64
    /// The smallest and largest non-NaN values; NaN when every value is NaN.
    public var minValue: Double
    public var maxValue: Double
    /// The point with the least (step, timestamp); of equals, the one logged first.
    public var first: MetricPoint
    /// The point with the greatest (step, timestamp, value), as MLflow defines "latest"; values
    /// compare in IEEE-754 total order.
    public var latest: MetricPoint

    /// The summary of `points`, in logging order; `points` must not be empty.
    init(of points: UnsafeBufferPointer<MetricPoint>) {
        let first = points[0]
        var summary = BlockSummary(
            count: 0, minStep: first.step, maxStep: first.step, minTimestamp: first.timestamp,
            maxTimestamp: first.timestamp, minValue: .nan, maxValue: .nan, first: first, latest: first)
        for point in points { summary.add(point) }
        self = summary
    }

    /// The summary of `points` in (step, timestamp) order, ties in logging order, as a block
    /// stores them; `points` must not be empty. Equal to `init(of:)` of the same points (steps
    /// and the first and latest point come from the ends; one pass reads timestamps and values).
    init(ofSorted points: UnsafeBufferPointer<MetricPoint>) {
        let first = points[0]
        let last = points[points.count - 1]
        var minTimestamp = first.timestamp
        var maxTimestamp = first.timestamp
        // NaN compares false, so it changes neither; `numbers` tells all-NaN from all-infinite.
        var minValue = Double.infinity
        var maxValue = -Double.infinity
        var numbers = 0
        for point in points {
            minTimestamp = Swift.min(minTimestamp, point.timestamp)
            maxTimestamp = Swift.max(maxTimestamp, point.timestamp)
            let value = point.value
            minValue = value < minValue ? value : minValue  // Swift.min's choice among equals
            maxValue = value >= maxValue ? value : maxValue  // Swift.max's
            numbers &+= value.isNaN ? 0 : 1
        }
        // The latest is among the points of the last (step, timestamp): the first of those
        // whose value no later one exceeds in total order.
        var tail = points.count - 1
        while tail > 0 && points[tail - 1].step == last.step && points[tail - 1].timestamp == last.timestamp {
            tail -= 1
        }
        var latest = points[tail]
        for point in points[(tail + 1)...] where BlockSummary.isLater(point, than: latest) { latest = point }
        self.init(
            count: points.count, minStep: first.step, maxStep: last.step, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp, minValue: numbers == 0 ? .nan : minValue,
            maxValue: numbers == 0 ? .nan : maxValue, first: first, latest: latest)
    }

    init(
        count: Int, minStep: Int64, maxStep: Int64, minTimestamp: Int64, maxTimestamp: Int64,
        minValue: Double, maxValue: Double, first: MetricPoint, latest: MetricPoint
    ) {
        self.count = count
        self.minStep = minStep
        self.maxStep = maxStep
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.minValue = minValue
        self.maxValue = maxValue
        self.first = first
        self.latest = latest
    }

    /// Adds a point logged after every point summarised so far.
    @inline(__always)
    mutating func add(_ point: MetricPoint) {
        count += 1
        minStep = min(minStep, point.step)
        maxStep = max(maxStep, point.step)
        minTimestamp = min(minTimestamp, point.timestamp)
        maxTimestamp = max(maxTimestamp, point.timestamp)
        includeValues(min: point.value, max: point.value)
        if BlockSummary.isEarlier(point, than: first) { first = point }
        if BlockSummary.isLater(point, than: latest) { latest = point }
    }

    /// Merges the summary of points logged after every point summarised so far.
    mutating func merge(_ other: BlockSummary) {
        count += other.count
        minStep = min(minStep, other.minStep)
        maxStep = max(maxStep, other.maxStep)
        minTimestamp = min(minTimestamp, other.minTimestamp)
        maxTimestamp = max(maxTimestamp, other.maxTimestamp)
        includeValues(min: other.minValue, max: other.maxValue)
        if BlockSummary.isEarlier(other.first, than: first) { first = other.first }
        if BlockSummary.isLater(other.latest, than: latest) { latest = other.latest }
    }

    private mutating func includeValues(min low: Double, max high: Double) {
        if !low.isNaN { minValue = minValue.isNaN ? low : Swift.min(minValue, low) }
        if !high.isNaN { maxValue = maxValue.isNaN ? high : Swift.max(maxValue, high) }
    }

    /// Equality of stored bits, so that NaN summaries compare equal to themselves.
    public static func == (a: BlockSummary, b: BlockSummary) -> Bool {
        a.count == b.count && a.minStep == b.minStep && a.maxStep == b.maxStep
            && a.minTimestamp == b.minTimestamp && a.maxTimestamp == b.maxTimestamp
            && a.minValue.bitPattern == b.minValue.bitPattern && a.maxValue.bitPattern == b.maxValue.bitPattern
            && a.first == b.first && a.latest == b.latest
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(minStep)
        hasher.combine(maxStep)
        hasher.combine(latest)
    }

    /// Strictly earlier in scan order: step, then timestamp (later-logged equals are not earlier).
    static func isEarlier(_ a: MetricPoint, than b: MetricPoint) -> Bool {
        a.step != b.step ? a.step < b.step : a.timestamp < b.timestamp
    }

    /// MLflow's order for "latest": step, then timestamp, then value.
    static func isLater(_ a: MetricPoint, than b: MetricPoint) -> Bool {
        if a.step != b.step { return a.step > b.step }
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        return !a.value.isTotallyOrdered(belowOrEqualTo: b.value)
    }
}
