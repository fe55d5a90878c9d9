import Logging
import Runlog
import RunlogStore
import RunlogWorkloads
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The corruption campaign: a real store (experiment files, a compacted run, a run of many
/// segments, index snapshots) is damaged one mutation at a time — a flipped byte, a zeroed range,
/// a truncation — in its segments, snapshots and other files. After each, the store is opened
/// (engine and tracking layer), every series scanned and every run verified:
/// - nothing may crash or hang (a watchdog aborts a probe that takes over 10 s), and memory stays
///   bounded (peak RSS is reported and checked);
/// - every point read back must be one that was logged (checksums stand between damage and data);
/// - every change to a checksummed byte (any byte of a segment or index snapshot) must make
///   `verify` report corruption.
/// Some mutations also open a writer on the damaged run (recovery) and check that what was
/// readable before stays readable. The store is restored byte for byte after each mutation.
package struct CorruptionCampaign {
    package enum Kind: String, CaseIterable, Sendable {
        case flip, zero, truncate
    }

    package enum FileClass: String, CaseIterable, Sendable {
        case segment, snapshot, other
    }

    package struct Tally: Sendable {
        package var mutations = 0
        /// Mutations that changed a checksummed byte, and how many of those `verify` reported.
        package var checksummedChanges = 0
        package var detectedByVerify = 0
        /// Truncations `verify` reported (one that ends the log at a record boundary looks like a
        /// log that was never longer, and cannot be told).
        package var truncationsDetected = 0
        /// Mutations after which opening the store or a run was refused with an error.
        package var refusedToOpen = 0
        /// Scans that failed with an error (the damage found while reading).
        package var scansReportingDamage = 0
        /// Points no longer readable, summed over mutations.
        package var pointsLost = 0
    }

    package struct Report: Sendable {
        package var tallies: [String: Tally] = [:]
        package var recoveries = 0
        package var failures: [String] = []
        package var slowestProbeMilliseconds = 0.0
        package var peakResidentMegabytes = 0.0
        package var storeBytes = 0
        package var seconds = 0.0
    }

    package var directory: String
    package var mutations: Int
    package var seed: UInt64
    /// A probe taking longer than this is a hang: the campaign aborts with the mutation named.
    package var watchdogSeconds = 10.0
    /// Peak resident memory above this is unbounded allocation.
    package var memoryLimitMegabytes = 1024.0

    package init(directory: String, mutations: Int, seed: UInt64) {
        self.directory = directory
        self.mutations = mutations
        self.seed = seed
    }

    var storePath: String { directory + "/store" }

    static func options() -> StoreOptions {
        var options = StoreOptions()
        options.durability = .never
        options.blockPoints = 256
        options.segmentSize = 16 << 10
        options.backgroundCompaction = false
        options.logger = quietLogger
        return options
    }

    package func run(progress: (String) -> Void = { _ in }) -> Report {
        var report = Report()
        let started = monotonicSeconds()
        let expected: [RunID: [Int]]
        do {
            expected = try buildStore()
        } catch {
            report.failures.append("building the store: \(error)")
            return report
        }
        let pristine = snapshotFiles(storePath)
        report.storeBytes = pristine.values.reduce(0) { $0 + $1.count }
        let baseline = probe(expected: expected)
        if !baseline.failures.isEmpty || baseline.detected {
            report.failures.append("the undamaged store does not check out: \(baseline.failures)")
            return report
        }
        let watchdog = Watchdog(seconds: watchdogSeconds)
        var random = SeededRandom(seed: seed)
        let paths = pristine.keys.sorted()
        let byClass = Dictionary(grouping: paths, by: Self.classify)
        for number in 0..<mutations {
            // Segments most, snapshots next, the other files (markers, experiment files, locks) least.
            let roll = random.below(20)
            let fileClass: FileClass = roll < 12 ? .segment : roll < 17 ? .snapshot : .other
            guard let candidates = byClass[fileClass], !candidates.isEmpty else { continue }
            let path = candidates[random.below(candidates.count)]
            let original = pristine[path]!
            let kind = Kind.allCases[random.below(random.below(4) == 0 ? 3 : 2)]
            var damaged = original
            let description: String
            switch kind {
            case .flip:
                guard !original.isEmpty else { continue }
                let offset = random.below(original.count)
                let mask = UInt8(1 + random.below(255))
                damaged[offset] ^= mask
                description = "flip \(path) at \(offset) with 0x\(String(mask, radix: 16))"
            case .zero:
                guard !original.isEmpty else { continue }
                let offset = random.below(original.count)
                let length = min(original.count - offset, 1 + random.below(512))
                for i in offset..<(offset + length) { damaged[i] = 0 }
                description = "zero \(length) bytes of \(path) at \(offset)"
            case .truncate:
                let length = random.below(original.count)
                damaged.removeLast(original.count - length)
                description = "truncate \(path) to \(length) of \(original.count) bytes"
            }
            let changed = damaged != original
            let recover = random.below(10) == 0
            do {
                try writeFile(path, damaged)
            } catch {
                report.failures.append("\(description): writing the damage: \(error)")
                break
            }
            let probeStart = monotonicSeconds()
            watchdog.arm(description)
            // A truncation that ends the log at a record boundary cannot be told from a shorter log.
            let outcome = probe(expected: expected, recover: recover, holesAreDetectable: kind != .truncate)
            watchdog.disarm()
            report.slowestProbeMilliseconds = max(
                report.slowestProbeMilliseconds, (monotonicSeconds() - probeStart) * 1000)
            let key = "\(fileClass.rawValue) \(kind.rawValue)"
            var tally = report.tallies[key, default: Tally()]
            tally.mutations += 1
            if outcome.refused { tally.refusedToOpen += 1 }
            tally.scansReportingDamage += outcome.scanErrors
            tally.pointsLost += outcome.pointsLost
            if kind == .truncate && changed && outcome.detected { tally.truncationsDetected += 1 }
            if fileClass != .other && kind != .truncate && changed {
                tally.checksummedChanges += 1
                if outcome.detected {
                    tally.detectedByVerify += 1
                } else {
                    report.failures.append("\(description): verify did not report the change of a checksummed byte")
                }
            }
            report.tallies[key] = tally
            if recover { report.recoveries += 1 }
            report.failures += outcome.failures.map { "\(description): \($0)" }
            do {
                try restore(pristine)
            } catch {
                report.failures.append("restoring the store after \(description): \(error)")
                break
            }
            if number % 1000 == 999 { progress("corruption: \(number + 1)/\(mutations)") }
            if report.failures.count > 20 { break }
        }
        watchdog.stop()
        let after = probe(expected: expected)
        if !after.failures.isEmpty || after.detected {
            report.failures.append("the restored store does not check out: \(after.failures)")
        }
        report.peakResidentMegabytes = peakResidentMegabytes()
        if report.peakResidentMegabytes > memoryLimitMegabytes {
            report.failures.append("peak resident memory \(fixed(report.peakResidentMegabytes)) MB")
        }
        report.seconds = monotonicSeconds() - started
        return report
    }

    /// Makes the store: one experiment with a compacted run, a run of many small segments, and a
    /// run with params and tags left RUNNING. Returns each run's point counts per ledger series.
    private func buildStore() throws -> [RunID: [Int]] {
        let tracking = try TrackingStore.open(at: storePath, options: Self.options())
        let experiment = try tracking.experiment(named: "corruption")
        var expected: [RunID: [Int]] = [:]
        for (name, steps) in [("compacted", 12_000), ("segments", 6_000), ("running", 2_000)] {
            let run = try tracking.startRun(
                in: experiment, name: name, params: ["lr": "0.01", "layers": "4"], tags: ["campaign": "corruption"],
                captureEnvironment: false)
            let metrics = try Ledger.keys.map { try run.metric($0) }
            for step in 0..<Int64(steps) {
                for (k, metric) in metrics.enumerated() {
                    try run.log(
                        metric, Ledger.value(series: k, step: step), step: step, timestamp: Ledger.timestamp(step: step)
                    )
                }
                if step % 700 == 699 { try run.flush() }
            }
            if name == "running" { try run.flush() } else { try run.finish() }
            expected[run.id] = [steps, steps, steps]
            if name == "compacted" { try tracking.engine.compact(run.id, force: true) }
        }
        return expected
    }

    struct Outcome {
        var failures: [String] = []
        var detected = false
        var refused = false
        var scanErrors = 0
        var pointsLost = 0
    }

    /// Opens, scans and verifies the store as it is now.
    private func probe(expected: [RunID: [Int]], recover: Bool = false, holesAreDetectable: Bool = true) -> Outcome {
        var outcome = Outcome()
        // The tracking layer reads the experiment files and every run's records; its queries must
        // never answer with fewer points than were logged without saying so.
        if let tracking = try? TrackingStore.open(at: storePath, options: Self.options()) {
            outcome.failures += silentHoles(tracking, expected, holesAreDetectable: holesAreDetectable)
        } else {
            outcome.refused = true
        }
        let store: Store
        do {
            store = try Store.open(at: storePath, options: Self.options(), create: false)
        } catch {
            outcome.refused = true
            outcome.detected = true
            outcome.pointsLost = expected.values.flatMap { $0 }.reduce(0, +)
            return outcome
        }
        defer { store.close() }
        for (run, counts) in expected.sorted(by: { $0.key < $1.key }) {
            do {
                let reader = try store.openReader(run)
                let findings = Ledger.check(reader, acknowledged: [0, 0, 0], expectation: .nothingPromised)
                outcome.failures += findings.failures.map { "run \(run): \($0)" }
                outcome.scanErrors += findings.scanErrors.count
                for error in findings.scanErrors where error.code != .corruption {
                    outcome.failures.append("run \(run): a scan failed with \(error.code), not corruption: \(error)")
                }
                outcome.pointsLost += zip(counts, findings.counts).map { max(0, $0 - $1) }.reduce(0, +)
            } catch {
                outcome.refused = true
                if error.code != .corruption && error.code != .notFound && error.code != .unsupportedVersion {
                    outcome.failures.append("run \(run): opening a reader failed with \(error.code): \(error)")
                }
            }
            do {
                let report = try store.verify(run)
                if !report.isClean { outcome.detected = true }
            } catch {
                outcome.detected = true
            }
            if recover { outcome.failures += recoverRun(run, store) }
        }
        return outcome
    }

    /// The histories the tracking layer returned short without an error, and runs it left out
    /// without listing them as unreadable.
    private func silentHoles(_ tracking: TrackingStore, _ expected: [RunID: [Int]], holesAreDetectable: Bool)
        -> [String]
    {
        var failures: [String] = []
        for (run, counts) in expected.sorted(by: { $0.key < $1.key }) {
            guard (try? tracking.run(run)) != nil else {
                if tracking.unreadableRuns[run] == nil {
                    failures.append("run \(run) is missing from the listing and not reported unreadable")
                }
                continue
            }
            for (key, count) in zip(Ledger.keys, counts) {
                do {
                    let points = try tracking.history(of: run, key).count
                    if points < count && holesAreDetectable {
                        failures.append("history of \(key) of run \(run): \(points) of \(count) points and no error")
                    }
                } catch {
                    if error.code != .damaged && error.code != .storage && error.code != .notFound {
                        failures.append("history of \(key) of run \(run) failed with \(error.code): \(error)")
                    }
                }
            }
        }
        return failures
    }

    /// Opens a writer on a damaged run (which repairs what it can) and logs on; what a reader saw
    /// before must still be there afterwards, and the new points too.
    private func recoverRun(_ run: RunID, _ store: Store) -> [String] {
        guard let before = try? store.openReader(run) else { return [] }
        let seen = Ledger.check(before, acknowledged: [0, 0, 0], expectation: .nothingPromised)
        guard seen.scanErrors.isEmpty else { return [] }  // damage inside blocks: nothing to compare
        do {
            let writer = try store.openWriter(run)
            let extra = try writer.series("recovered")
            for step in 0..<100 { try writer.log(extra, step: Int64(step), timestamp: 0, value: Double(step)) }
            try writer.close()
            let after = try store.openReader(run)
            var failures = Ledger.check(after, acknowledged: seen.counts, expectation: .nothingPromised).all
            if zip(seen.counts, Ledger.check(after, acknowledged: [], expectation: .nothingPromised).counts)
                .contains(where: { $0 > $1 })
            {
                failures.append("recovery lost points that were readable before it")
            }
            if (try? after.scan("recovered").count) != 100 {
                failures.append("points logged after recovery are missing")
            }
            return failures.map { "recovering run \(run): \($0)" }
        } catch {
            return error.code == .io ? ["recovering run \(run): \(error)"] : []
        }
    }

    static func classify(_ path: String) -> FileClass {
        if path.hasSuffix(".segment") { return .segment }
        if path.hasSuffix("/INDEX") { return .snapshot }
        return .other
    }

    /// Every file under `path`, with its bytes.
    private func snapshotFiles(_ path: String) -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [:]
        for file in files(under: path) { contents[file] = try? readFile(file) }
        return contents
    }

    /// Puts every file back as it was and removes files made since.
    private func restore(_ pristine: [String: [UInt8]]) throws {
        let now = snapshotFiles(storePath)
        for (path, bytes) in now where pristine[path] != bytes {
            if let original = pristine[path] { try writeFile(path, original) } else { unlink(path) }
        }
        for (path, bytes) in pristine where now[path] == nil { try writeFile(path, bytes) }
    }
}

/// Aborts the process when a probe outlives its deadline, naming the mutation: a hang is a bug.
final class Watchdog: Sendable {
    private struct Armed {
        var deadline: Double?
        var what = ""
        var stopped = false
    }
    private let state = Mutex(Armed())
    private let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
        try? startThread { [self] in
            while true {
                usleep(100_000)
                let (expired, what, stopped) = state.withLock { s in
                    (s.deadline.map { monotonicSeconds() > $0 } ?? false, s.what, s.stopped)
                }
                if stopped { return }
                if expired {
                    let message = Array("runlog-campaign: hang: no result \(seconds) s after \(what)\n".utf8)
                    _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                    abort()
                }
            }
        }
    }

    func arm(_ what: String) { state.withLock { $0 = Armed(deadline: monotonicSeconds() + seconds, what: what) } }
    func disarm() { state.withLock { $0.deadline = nil } }
    func stop() { state.withLock { $0.stopped = true } }
}
