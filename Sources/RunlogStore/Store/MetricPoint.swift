/// One point of a metric series. Any `Double` is legal, NaN and ±Inf included, and is stored
/// bit-exactly.
public struct MetricPoint: Sendable, Hashable, CustomStringConvertible {
    public var step: Int64
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    public var value: Double

    public init(step: Int64, timestamp: Int64, value: Double) {
        self.step = step
        self.timestamp = timestamp
        self.value = value
    }

    /// Equality of the stored bits: NaN equals a NaN of the same payload, and 0.0 differs from -0.0.
    public static func == (a: MetricPoint, b: MetricPoint) -> Bool {
        a.step == b.step && a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(step)
        hasher.combine(timestamp)
        hasher.combine(value.bitPattern)
    }

    public var description: String { "(step \(step), t \(timestamp), \(value))" }

    static let stride = MemoryLayout<MetricPoint>.stride
    static let stepOffset = MemoryLayout<MetricPoint>.offset(of: \.step)!
    static let timestampOffset = MemoryLayout<MetricPoint>.offset(of: \.timestamp)!
    static let valueOffset = MemoryLayout<MetricPoint>.offset(of: \.value)!
}
