import ArgumentParser
import RunlogReliability

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Campaign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runlog-campaign",
        abstract: "Runlog's reliability campaign: crash loops, power loss, corruption and hostile input.",
        discussion: """
            The parts: crash (a writer process SIGKILLed at random, 250 times), compaction (the same \
            with kills while closing and compacting), live (the same with a writer that flushes every \
            20 steps, so that its run is compacted while it is written), power (power cuts on a simulated disk under each \
            durability setting, and while a run is compacted as it is written, 4,000 images, and a cut \
            at each step of 800 compactions), corruption \
            (10,000 flipped, zeroed and truncated ranges in a real store), hostile (a full tmpfs, a \
            read-only mount, a million keys, a hostile mlruns directory to import, and the CLI against \
            control sequences, bad ingest lines, a 200 MiB line and an idle pipe; the mounts need root \
            and are skipped otherwise). Each checks the store against what was logged and \
            prints its figures; any failure makes the exit status 1 and keeps the stores. --quick runs \
            the short version CI runs. Every random choice comes from --seed; when a kill lands also \
            depends on the machine's timing. RELIABILITY.md explains the checks and the figures.
            """)

    @Flag(help: "The short version (as in CI) instead of the full campaign.")
    var quick = false

    @Option(help: "The seed of every random choice (kill moments, mutations, power-loss points).")
    var seed: UInt64 = 1

    @Option(help: "Parts to run, comma-separated: crash, compaction, live, power, corruption, hostile.")
    var only: String = "crash,compaction,live,power,corruption,hostile"

    @Option(help: "Where to make the stores (a fresh directory under it; removed unless a part fails).")
    var directory: String = "/tmp"

    func run() throws {
        let parts = Set(only.split(separator: ",").map(String.init))
        let known: Set = ["crash", "compaction", "live", "power", "corruption", "hostile"]
        if let unknown = parts.subtracting(known).first {
            throw ValidationError(
                "unknown part \"\(unknown)\"; the parts are \(known.sorted().joined(separator: ", "))")
        }
        let executables = try siblingExecutables()
        let root = try makeTemporaryDirectory(under: directory)
        var failed = false
        // Unbuffered, so progress shows as it happens in a pipe or a file too.
        func say(_ line: String) {
            _ = Array((line + "\n").utf8).withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }
        for (name, churn, live) in [("crash", false, false), ("compaction", true, false), ("live", false, true)]
        where parts.contains(name) {
            let loopDirectory = root + "/" + name
            mkdir(loopDirectory, 0o755)
            var loop = CrashLoop(
                writerExecutable: executables.writer, cliExecutable: executables.cli, directory: loopDirectory,
                iterations: quick ? 20 : 250, seed: seed, churn: churn)
            loop.live = live
            let report = loop.run { say("  \($0)") }
            let title = churn ? " with compaction" : live ? " with live compaction" : ""
            say(
                "crash loop\(title): \(report.iterations) kills (\(report.killedLogging) logging, \(report.killedClosing) closing, \(report.killedCompacting) compacting), \(report.tornTails) torn tails, \(report.compactedBase) checks starting at a compacted segment, \(report.pointsChecked) points checked, \(report.unacknowledgedPresent) unacknowledged points present, \(report.failures.count) failures, \(fixed(report.seconds)) s"
            )
            for failure in report.failures { say("  FAIL \(failure)") }
            failed = failed || !report.failures.isEmpty
        }
        if parts.contains("power") {
            let report = PowerLoss(iterations: quick ? 200 : 4_000, seed: seed).run { say("  \($0)") }
            for mode in PowerLoss.Mode.allCases {
                guard let tally = report.tallies[mode] else { continue }
                say(
                    "power loss, \(mode): \(tally.images) images, \(tally.acknowledgedPoints) acknowledged points required, \(tally.pointsLost) unacknowledged points lost, \(tally.tornTails) torn tails, \(tally.damageReported) with damage reported, \(tally.compactedBase) starting at a compacted segment"
                )
            }
            say("power loss: \(report.failures.count) failures, \(fixed(report.seconds)) s")
            for failure in report.failures { say("  FAIL \(failure)") }
            failed = failed || !report.failures.isEmpty
        }
        if parts.contains("corruption") {
            let corruptionDirectory = root + "/corruption"
            mkdir(corruptionDirectory, 0o755)
            let report = CorruptionCampaign(directory: corruptionDirectory, mutations: quick ? 400 : 10_000, seed: seed)
                .run { say("  \($0)") }
            say("corruption: a store of \(report.storeBytes) bytes; per file and mutation:")
            for (key, tally) in report.tallies.sorted(by: { $0.key < $1.key }) {
                say(
                    "  \(key): \(tally.mutations) mutations, \(tally.checksummedChanges) changed checksummed bytes, \(tally.detectedByVerify) detected by verify\(key.hasSuffix("truncate") ? " (\(tally.truncationsDetected) truncations detected)" : ""), \(tally.refusedToOpen) refused to open, \(tally.scansReportingDamage) scans reporting damage, \(tally.pointsLost) points lost"
                )
            }
            say(
                "corruption: \(report.tallies.values.map(\.mutations).reduce(0, +)) mutations, \(report.recoveries) recoveries, slowest probe \(fixed(report.slowestProbeMilliseconds)) ms, peak RSS \(fixed(report.peakResidentMegabytes)) MB, \(report.failures.count) failures, \(fixed(report.seconds)) s"
            )
            for failure in report.failures { say("  FAIL \(failure)") }
            failed = failed || !report.failures.isEmpty
        }
        if parts.contains("hostile") {
            let hostileDirectory = root + "/hostile"
            mkdir(hostileDirectory, 0o755)
            let report = HostileCampaign(
                directory: hostileDirectory, keys: quick ? 50_000 : 1_000_000, cliExecutable: executables.cli
            ).run()
            for line in report.lines { say(line) }
            for failure in report.failures { say("  FAIL \(failure)") }
            failed = failed || !report.failures.isEmpty
        }
        if failed {
            say("stores kept in \(root)")
            throw ExitCode(1)
        }
        removeTree(root)
    }
}

/// The test writer and `runlog`, built beside this executable.
func siblingExecutables() throws -> (writer: String, cli: String) {
    let writer = builtProduct("RunlogTestWriter")
    let cli = builtProduct("runlog")
    for path in [writer, cli] where access(path, X_OK) != 0 {
        throw ValidationError(
            "\(path) is missing beside runlog-campaign: build the package first (swift build -c release)")
    }
    return (writer, cli)
}
