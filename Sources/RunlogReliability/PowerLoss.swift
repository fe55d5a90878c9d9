import Logging
import RunlogStore
import RunlogTestSupport
import RunlogWorkloads
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Simulated power loss: a writer logs the ledger onto a `SimulatedDisk` and, at a random moment
/// (the sealer thread possibly mid-write), the disk is imaged as a reboot would find it — synced
/// bytes kept, a random part of the rest. The image is opened and checked against what each
/// durability setting promises:
/// - `onFlush`: every point a completed `flush()` acknowledged is present;
/// - `interval`: every point acknowledged before the latest completed background fsync began;
/// - `never`: nothing is promised, but the store opens and holds nothing that was never logged.
/// In every case the store opens, a writer recovers the run, and nothing acknowledged is lost
/// by that recovery. A fourth mode cuts the power at every step of a compaction of a closed run;
/// a fifth at random moments of a writer that flushes every few steps, with `onFlush`, while live
/// compactions of its run (`LiveCompaction`) write, rename and delete on the compaction thread.
package struct PowerLoss {
    package enum Mode: String, CaseIterable, Sendable {
        case never, onFlush, interval, compaction, live
    }

    package struct Tally: Sendable {
        package var images = 0
        package var acknowledgedPoints = 0
        /// Points logged and acknowledged, or written, but not in the image.
        package var pointsLost = 0
        /// Images whose run ended in a torn tail, or had damage reported (zeroed pages).
        package var tornTails = 0
        package var damageReported = 0
        /// Images whose run starts at a compacted segment (in `live`: one written while the run was).
        package var compactedBase = 0
    }

    package struct Report: Sendable {
        package var tallies: [Mode: Tally] = [:]
        package var failures: [String] = []
        package var seconds = 0.0
    }

    package var iterations: Int
    package var seed: UInt64

    package init(iterations: Int, seed: UInt64) {
        self.iterations = iterations
        self.seed = seed
    }

    package func run(progress: (String) -> Void = { _ in }) -> Report {
        var report = Report()
        let started = monotonicSeconds()
        for iteration in 0..<iterations {
            let mode = Mode.allCases[iteration % Mode.allCases.count]
            let iterationSeed = seed &* 1_000_003 &+ UInt64(iteration)
            do {
                let failures = try once(mode: mode, seed: iterationSeed, tally: &report.tallies[mode, default: Tally()])
                report.failures += failures.map { "power loss \(mode) (seed \(iterationSeed)): \($0)" }
            } catch {
                report.failures.append("power loss \(mode) (seed \(iterationSeed)): \(error)")
            }
            if iteration % 100 == 99 { progress("power loss: \(iteration + 1)/\(iterations)") }
            if report.failures.count > 20 { break }
        }
        report.seconds = monotonicSeconds() - started
        return report
    }

    private func once(mode: Mode, seed: UInt64, tally: inout Tally) throws -> [String] {
        var random = SeededRandom(seed: seed)
        let disk = SimulatedDisk()
        var options = StoreOptions()
        options.fileSystem = disk
        options.durability =
            switch mode {
            case .never: .never
            case .onFlush, .compaction, .live: .onFlush
            case .interval: .interval(milliseconds: 1 + random.below(3))
            }
        options.blockPoints = [16, 128, 1024][random.below(3)]
        options.segmentSize = 4096 << random.below(5)
        options.compression = random.below(2) == 0
        options.backgroundCompaction = mode == .live
        options.liveCompactionBytes = 512 << random.below(4)
        options.logger = quietLogger
        let run = RunID(bytes: (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        let store = try Store.open(at: "/store", options: options)
        defer { store.close() }  // stops the compaction thread before the disk goes
        let writer = try store.createRun(run)
        let series = try Ledger.keys.map { try writer.series($0) }
        let steps = random.below(6_000)
        let flushEvery = 1 + random.below(mode == .live ? 20 : 500)
        let cut = mode == .compaction ? steps : random.below(steps + 1)
        var acknowledged = [0, 0, 0]
        var acks: [(operation: Int, counts: [Int])] = []
        var image: SimulatedDisk?
        var syncStart: Int?
        for step in 0..<steps {
            if step == cut {
                (syncStart, image) = (
                    disk.lastSyncStart(pathPrefix: "/store/runs"), disk.powerLoss(using: &random)
                )
            }
            for k in series.indices {
                try writer.log(
                    series[k], step: Int64(step), timestamp: Ledger.timestamp(step: Int64(step)),
                    value: Ledger.value(series: k, step: Int64(step)))
            }
            if step % flushEvery == flushEvery - 1 {
                try writer.flush()
                if image == nil {
                    acknowledged = [step + 1, step + 1, step + 1]
                    acks.append((disk.operationCount, acknowledged))
                }
            }
        }
        try writer.flush()
        if image == nil { acknowledged = [steps, steps, steps] }
        try writer.close()
        if mode == .compaction {
            // Cut the power at the steps of the compaction: its write-sync-rename-sync-delete; every
            // other cut keeps any subset of the unsynced directory changes, so a compaction that
            // deleted the old segments before its rename was synced loses points there.
            disk.startRecording()
            _ = try? store.compact(run, force: true)
            var failures: [String] = []
            // Its end (rename, directory syncs, deletions, the new snapshot) step by step, and a
            // few moments of the writing before it.
            let moments = disk.stopRecording()
            let publish = max(0, moments.count - 14)
            let chosen = Set((0..<4).map { _ in random.below(publish + 1) }).union(publish..<moments.count)
            for step in chosen.sorted() where step < moments.count {
                let moment = moments[step]
                let image = moment.powerLoss(using: &random, reorderingDirectoryChanges: step % 2 == 1)
                tally.images += 1
                tally.acknowledgedPoints += acknowledged.reduce(0, +)
                failures += check(
                    image, run: run, required: acknowledged, expectation: .acknowledgedPresent, tally: &tally,
                    logged: steps * 3
                ).map { "power cut before operation \(step) of the compaction: \($0)" }
            }
            return failures
        }
        if image == nil {
            (syncStart, image) = (disk.lastSyncStart(pathPrefix: "/store/runs"), disk.powerLoss(using: &random))
        }
        let required: [Int]
        let expectation: Ledger.Expectation
        switch mode {
        case .never:
            (required, expectation) = ([0, 0, 0], .nothingPromised)
        case .onFlush, .compaction, .live:
            (required, expectation) = (acknowledged, .acknowledgedPresent)
        case .interval:
            let covered = acks.last { syncStart != nil && $0.operation < syncStart! }
            (required, expectation) = (covered?.counts ?? [0, 0, 0], .acknowledgedPresent)
        }
        tally.images += 1
        tally.acknowledgedPoints += required.reduce(0, +)
        return check(image!, run: run, required: required, expectation: expectation, tally: &tally, logged: steps * 3)
    }

    /// Opens the image, checks the run, recovers it with a writer, and checks it again.
    private func check(
        _ image: SimulatedDisk, run: RunID, required: [Int], expectation: Ledger.Expectation, tally: inout Tally,
        logged: Int
    ) -> [String] {
        var options = StoreOptions()
        options.fileSystem = image
        options.backgroundCompaction = false
        options.logger = quietLogger
        let nothingRequired = required.allSatisfy { $0 == 0 }
        let store: Store
        do {
            store = try Store.open(at: "/store", options: options, create: false)
        } catch {
            return nothingRequired && error.code == .notFound ? [] : ["the store does not open: \(error)"]
        }
        guard (try? store.runs().contains(run)) == true else {
            return nothingRequired ? [] : ["run \(run) is gone with \(required) points acknowledged"]
        }
        var failures: [String] = []
        do {
            let reader = try store.openReader(run)
            if reader.tornTail != nil { tally.tornTails += 1 }
            if reader.problems.contains(where: \.isCorruption) { tally.damageReported += 1 }
            if reader.base > 0 { tally.compactedBase += 1 }
            let findings = Ledger.check(reader, acknowledged: required, expectation: expectation)
            failures += findings.all
            tally.pointsLost += logged - findings.counts.reduce(0, +)
            _ = try store.verify(run)
            // Recovery: a writer opens the run (truncating a torn tail) and closes it.
            try store.openWriter(run).close()
            let after = try store.openReader(run)
            failures += Ledger.check(after, acknowledged: required, expectation: expectation).all.map {
                "after recovery: \($0)"
            }
        } catch {
            failures.append("reading or recovering the run: \(error)")
        }
        return failures
    }
}

/// The campaigns make recovery happen thousands of times: its notices would drown the report.
package let quietLogger = Logger(label: "runlog.campaign") { _ in SwiftLogNoOpLogHandler() }
