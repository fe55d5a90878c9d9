import Foundation
import RunlogStore

/// Whether one run reproduced another: the same params, the same digests of its inputs, and
/// every metric at the same steps with values within the tolerance. System metrics (`system/`)
/// and timestamps are left out: they differ on every run.
public struct Reproduction: Sendable {
    public struct Difference: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable { case param, input, metric }
        public var kind: Kind
        public var key: String
        public var detail: String
        /// For a metric: the first step at which the runs differ, and both values there.
        public var step: Int64?
        public var original: Double?
        public var rerun: Double?
        public var description: String { "\(kind.rawValue) \(key): \(detail)" }
    }

    public var original: RunID
    public var rerun: RunID
    public var differences: [Difference] = []
    public var metricsCompared = 0
    public var pointsCompared = 0
    public var reproduced: Bool { differences.isEmpty }
}

/// How close two values must be: `|rerun - original| <= atol + rtol * |original|`. Both zero
/// (the default) asks for the same value bit for bit, NaN matching NaN.
public struct Tolerance: Sendable, Hashable {
    public var relative: Double
    public var absolute: Double
    public init(relative: Double = 0, absolute: Double = 0) {
        self.relative = relative
        self.absolute = absolute
    }

    public static let exact = Tolerance()

    func accepts(_ original: Double, _ rerun: Double) -> Bool {
        if original.bitPattern == rerun.bitPattern || (original.isNaN && rerun.isNaN) { return true }
        if relative == 0 && absolute == 0 { return false }
        if original.isInfinite || rerun.isInfinite || original.isNaN || rerun.isNaN { return original == rerun }
        return abs(rerun - original) <= absolute + relative * abs(original)
    }
}

extension TrackingStore {
    /// Compares `rerun` with `original` for `runlog compare --reproduced` and the run page.
    public func reproduction(of original: RunID, by rerun: RunID, tolerance: Tolerance = .exact) throws(RunlogError)
        -> Reproduction
    {
        let a = try run(original)
        let b = try run(rerun)
        var result = Reproduction(original: original, rerun: rerun)
        func differ(_ kind: Reproduction.Difference.Kind, _ key: String, _ detail: String) {
            result.differences.append(.init(kind: kind, key: key, detail: detail))
        }
        for key in Set(a.params.keys).union(b.params.keys).sorted() where a.params[key] != b.params[key] {
            differ(
                .param, key,
                "\(a.params[key].map { "\"\($0)\"" } ?? "absent") vs \(b.params[key].map { "\"\($0)\"" } ?? "absent")")
        }
        let digestsA = Self.inputDigests(a)
        let digestsB = Self.inputDigests(b)
        for key in Set(digestsA.keys).union(digestsB.keys).sorted() where digestsA[key] != digestsB[key] {
            differ(.input, key, "\(digestsA[key] ?? "absent") vs \(digestsB[key] ?? "absent")")
        }
        let keys = Set(a.metrics.keys).union(b.metrics.keys).filter { !$0.hasPrefix("system/") }.sorted()
        for key in keys {
            guard a.metrics[key] != nil, b.metrics[key] != nil else {
                differ(.metric, key, a.metrics[key] == nil ? "only the rerun has it" : "the rerun does not have it")
                continue
            }
            result.metricsCompared += 1
            let left = try history(of: original, key)
            let right = try history(of: rerun, key)
            let common = min(left.count, right.count)
            result.pointsCompared += common
            var found = false
            for index in 0..<common {
                let (p, q) = (left[index], right[index])
                if p.step != q.step {
                    differ(.metric, key, "point \(index + 1) is at step \(p.step) vs \(q.step)")
                } else if !tolerance.accepts(p.value, q.value) {
                    result.differences.append(
                        .init(
                            kind: .metric, key: key,
                            detail: "first differs at step \(p.step): \(exactText(p.value)) vs \(exactText(q.value))",
                            step: p.step, original: p.value, rerun: q.value))
                } else {
                    continue
                }
                found = true
                break
            }
            if !found && left.count != right.count {
                differ(.metric, key, "\(left.count) points vs \(right.count)")
            }
        }
        return result
    }

    /// The digest of each recorded input that has one: `dataset:` inputs (their `digest` field),
    /// the commit, the dirty diff and the Python packages.
    static func inputDigests(_ run: RunInfo) -> [String: String] {
        var digests: [String: String] = [:]
        for dataset in DatasetInput.all(in: run) {
            if let digest = dataset.fields["digest"] { digests[dataset.name] = digest }
        }
        for key in ["git_commit", "git_diff", "pip_freeze"] { digests[key] = run.inputs[key] }
        return digests
    }
}

/// A value written so that it reads back as the same Double.
func exactText(_ value: Double) -> String { "\(value)" }
