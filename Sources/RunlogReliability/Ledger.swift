import RunlogStore

/// What the campaigns' writers log, so that what a store holds can be checked against what was
/// logged without keeping a copy: series `k` holds, at step `s`, the value `s / 4 + k` at time
/// `epoch + s`. Every series is written from step 0 up, one step at a time, so after any crash the
/// points present must be a prefix `0..<n` of each series.
package enum Ledger {
    package static let keys = ["loss", "accuracy", "grad_norm"]
    package static let epoch: Int64 = 1_700_000_000_000

    package static func value(series: Int, step: Int64) -> Double { Double(step) / 4 + Double(series) }
    package static func timestamp(step: Int64) -> Int64 { epoch + step }

    /// How a check treats points past the acknowledged ones.
    package enum Expectation: Sendable {
        /// A process crash: each series is exactly `0..<n` with `n` at least what was acknowledged.
        case prefix
        /// Power loss: the acknowledged steps are present; later ones may come back in part.
        case acknowledgedPresent
        /// Power loss without durability: nothing must be present, but what is must be right.
        case nothingPromised
    }

    package struct Findings {
        /// Points present in each series.
        package var counts: [Int] = []
        /// What contradicts the ledger or the expectation.
        package var failures: [String] = []
        /// Scans that failed (with corruption, when the log was damaged on purpose).
        package var scanErrors: [StoreError] = []
        /// Failures and failed scans together, for checks where a scan must not fail.
        package var all: [String] { failures + scanErrors.map { "scan failed: \($0)" } }
    }

    /// Checks each series of `reader` against the ledger. `acknowledged[k]` is how many steps of
    /// series `k` a completed flush acknowledged.
    package static func check(_ reader: RunReader, acknowledged: [Int], expectation: Expectation) -> Findings {
        var scanErrors: [StoreError] = []
        var failures: [String] = []
        var counts: [Int] = []
        for (k, key) in keys.enumerated() {
            let points: [MetricPoint]
            do {
                points = reader.index.series(key) == nil ? [] : try reader.scan(key)
            } catch {
                scanErrors.append(error)
                counts.append(0)
                continue
            }
            counts.append(points.count)
            var steps: [Int64] = []
            steps.reserveCapacity(points.count)
            for point in points {
                if point.value.bitPattern != value(series: k, step: point.step).bitPattern
                    || point.timestamp != timestamp(step: point.step)
                {
                    failures.append(
                        "\(key): step \(point.step) holds \(point.value) at \(point.timestamp): never logged")
                    break
                }
                steps.append(point.step)
            }
            steps.sort()  // scans return steps in order: this is a check, not work
            if let i = steps.indices.dropFirst().first(where: { steps[$0] == steps[$0 - 1] }) {
                failures.append("\(key): step \(steps[i]) is present twice")
            }
            /// The first step of 0..<n missing from the sorted, distinct steps.
            func firstMissing(below n: Int64) -> Int64? {
                var expected: Int64 = 0
                for step in steps where step >= 0 {
                    if step >= n { break }
                    if step > expected { return expected }
                    if step == expected { expected += 1 }
                }
                return expected < n ? expected : nil
            }
            let acked = k < acknowledged.count ? acknowledged[k] : 0
            switch expectation {
            case .prefix:
                if let hole = firstMissing(below: Int64(points.count)) {
                    failures.append(
                        "\(key): \(points.count) points but step \(hole) is missing: a hole, not a lost suffix")
                }
                if points.count < acked {
                    failures.append("\(key): \(points.count) points, but \(acked) were acknowledged by flush()")
                }
            case .acknowledgedPresent:
                if let lost = firstMissing(below: Int64(acked)) {
                    failures.append("\(key): acknowledged step \(lost) of \(acked) is missing")
                }
            case .nothingPromised:
                break
            }
        }
        return Findings(counts: counts, failures: failures, scanErrors: scanErrors)
    }
}
