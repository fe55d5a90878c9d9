#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One generated point: step, timestamp in ms, value.
public struct WorkloadPoint: Sendable, Hashable {
    public var step: Int64
    public var timestamp: Int64
    public var value: Double

    public init(step: Int64, timestamp: Int64, value: Double) {
        self.step = step
        self.timestamp = timestamp
        self.value = value
    }
}

/// Seeded series shaped like what training loops log. Values are rounded to float32 precision, as
/// frameworks compute them in float32; timestamps advance ~100 ms a step with jitter and a pause
/// for evaluation every 1,000 steps.
public enum TrainingCurves {
    public enum Kind: String, Sendable, CaseIterable {
        /// Noisy, decaying loss.
        case loss
        /// Rising, saturating accuracy.
        case accuracy
        /// Warm-up then cosine decay, stepped (long runs of repeated values).
        case learningRate = "learning_rate"
        /// Gradient norm: log-normal noise with rare spikes.
        case gradientNorm = "grad_norm"
    }

    public static let startTimestamp: Int64 = 1_700_000_000_000

    /// `count` points of `kind`, steps 0..<count.
    public static func series(_ kind: Kind, count: Int, seed: UInt64) -> [WorkloadPoint] {
        var random = SeededRandom(seed: seed)
        var points: [WorkloadPoint] = []
        points.reserveCapacity(count)
        var timestamp = startTimestamp
        let total = Double(max(count, 1))
        for i in 0..<count {
            let progress = Double(i) / total
            let value: Double
            switch kind {
            case .loss:
                value = (2.3 * exp(-5 * progress) + 0.05) * (1 + 0.05 * random.gaussian())
            case .accuracy:
                value = min(1, max(0, 0.98 - 0.88 * exp(-6 * progress) + 0.01 * random.gaussian()))
            case .learningRate:
                let warmup = 0.02
                let bucket = (progress / 0.001).rounded(.down) * 0.001  // the schedule steps every 0.1%
                value = bucket < warmup ? 1e-3 * bucket / warmup : 1e-3 * 0.5 * (1 + cos(Double.pi * bucket))
            case .gradientNorm:
                let spike = random.unit() < 0.001 ? 20.0 : 1.0
                value = spike * exp(0.3 * random.gaussian()) * (1.5 - progress)
            }
            points.append(WorkloadPoint(step: Int64(i), timestamp: timestamp, value: Double(Float(value))))
            timestamp += 100 + Int64((2 * random.gaussian()).rounded())
            if i % 1000 == 999 { timestamp += 5000 + Int64(random.unit() * 1000) }
        }
        return points
    }

    /// The worst case for compression: full-precision random doubles in [0, 1), one per step,
    /// timestamps as in `series`.
    public static func randomDoubles(count: Int, seed: UInt64) -> [WorkloadPoint] {
        var random = SeededRandom(seed: seed)
        var timestamp = startTimestamp
        return (0..<count).map { i in
            defer { timestamp += 100 + Int64((2 * random.gaussian()).rounded()) }
            return WorkloadPoint(step: Int64(i), timestamp: timestamp, value: random.unit())
        }
    }
}
