import RunlogStore
import RunlogWorkloads

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The crash loop: a writer process logs at full speed with periodic flushes and is killed with
/// SIGKILL at a random moment; the store is then reopened and checked against the ledger —
/// it opens, every acknowledged point is there exactly once, nothing is there that was never
/// logged, each series lost at most a suffix, and `runlog verify` is clean. The next writer
/// resumes the run (truncating the torn tail the kill left) and is killed in turn.
package struct CrashLoop {
    package struct Report: Sendable {
        package var iterations = 0
        /// Kills that landed while the writer was logging, closing, or compacting.
        package var killedLogging = 0
        package var killedClosing = 0
        package var killedCompacting = 0
        /// Torn tails the readers saw right after a kill (the next writer truncates them).
        package var tornTails = 0
        /// Checks that found the run starting at a compacted segment (with `live`: one written
        /// while the run was).
        package var compactedBase = 0
        package var pointsChecked = 0
        /// Points present beyond the acknowledged ones (logged, written, not yet acknowledged).
        package var unacknowledgedPresent = 0
        package var failures: [String] = []
        package var seconds = 0.0
    }

    package var writerExecutable: String
    /// The `runlog` executable, for `runlog verify`; nil checks through the engine only.
    package var cliExecutable: String?
    package var directory: String
    package var iterations: Int
    package var seed: UInt64
    /// With churn, the writer closes and compacts the run every few thousand steps.
    package var churn: Bool
    /// With live, the run is compacted while it is written: the writer flushes every 20 steps.
    package var live = false
    /// The longest a writer lives before its kill.
    package var maxLifeMilliseconds = 120
    package var flushEvery = 500
    /// A new run every this many iterations, so the runs stay small enough to check each time.
    package var iterationsPerRun = 25

    package init(
        writerExecutable: String, cliExecutable: String?, directory: String, iterations: Int, seed: UInt64,
        churn: Bool
    ) {
        self.writerExecutable = writerExecutable
        self.cliExecutable = cliExecutable
        self.directory = directory
        self.iterations = iterations
        self.seed = seed
        self.churn = churn
    }

    package func run(progress: (String) -> Void = { _ in }) -> Report {
        var report = Report()
        var random = SeededRandom(seed: seed)
        let started = monotonicSeconds()
        let storePath = directory + "/store"
        let ackPath = directory + "/ack"
        var run = RunID.random()
        for iteration in 0..<iterations {
            if iteration % iterationsPerRun == 0 {
                run = RunID(bytes: (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) })
                unlink(ackPath)
            }
            var arguments = [storePath, run.description, "ledger", String(live ? 20 : flushEvery), ackPath]
            if churn {
                arguments.append(String(2_000 + random.below(20_000)))
            } else if live {
                arguments.append("live")
            }
            let life = UInt32(1 + random.below(maxLifeMilliseconds))
            // Half the kills count their life from the start, so they land in opening and
            // recovery too; the other half from the writer's first acknowledged flush, so that
            // however slow the build (a sanitizer's is 50-80 ms to its first flush) kills land
            // while acknowledged points exist to check.
            let fromFirstAck = random.below(2) == 1
            let before = AckFile.read(ackPath)?.counts.reduce(0, +) ?? 0
            do {
                let child = try ChildProcess(writerExecutable, arguments)
                if fromFirstAck { Self.awaitAcknowledgement(beyond: before, at: ackPath) }
                usleep(life * 1000)
                child.kill()
                let status = child.wait()
                // The writer never exits by itself: anything but our SIGKILL is an error it hit.
                if !(status & 0x7f == SIGKILL) {
                    report.failures.append(
                        "iteration \(iteration): the writer exited (status \(status)) before its kill")
                }
            } catch {
                report.failures.append("iteration \(iteration): starting the writer: \(error)")
                break
            }
            let ack = AckFile.read(ackPath)
            switch ack?.phase {
            case "S": report.killedClosing += 1
            case "C": report.killedCompacting += 1
            default: report.killedLogging += 1
            }
            let failures = check(
                storePath: storePath, run: run, acknowledged: ack?.counts ?? [0, 0, 0], report: &report)
            let when = "kill \(life) ms after \(fromFirstAck ? "its first flush" : "its start")"
            report.failures += failures.map { "iteration \(iteration) (seed \(seed), run \(run), \(when)): \($0)" }
            report.iterations += 1
            if iteration % 10 == 9 {
                progress(
                    "crash loop\(churn ? " with compaction" : live ? " with live compaction" : ""): \(iteration + 1)/\(iterations)"
                )
            }
            if report.failures.count > 20 { break }
        }
        report.seconds = monotonicSeconds() - started
        return report
    }

    /// Waits until the ack file at `path` acknowledges more than `count` points in all, or ten
    /// seconds have passed (a writer that never flushes is then killed and reported as usual).
    private static func awaitAcknowledgement(beyond count: Int, at path: String) {
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            if let ack = AckFile.read(path), ack.counts.reduce(0, +) > count { return }
            usleep(1_000)
        }
    }

    private func check(storePath: String, run: RunID, acknowledged: [Int], report: inout Report) -> [String] {
        let store: Store
        do {
            var options = LedgerWriter.options()
            options.indexSnapshots = true
            store = try Store.open(at: storePath, options: options, create: false)
        } catch {
            // The store's marker is written before anything else: only a kill that early may leave none.
            return acknowledged.allSatisfy({ $0 == 0 }) ? [] : ["the store does not open: \(error)"]
        }
        guard (try? store.runs().contains(run)) == true else {
            return acknowledged.allSatisfy({ $0 == 0 }) ? [] : ["run \(run) is gone"]
        }
        var failures: [String] = []
        do {
            let reader = try store.openReader(run)
            if reader.tornTail != nil { report.tornTails += 1 }
            if reader.base > 0 { report.compactedBase += 1 }
            failures += reader.problems.filter(\.isCorruption).map { "reader reports \($0)" }
            let findings = Ledger.check(reader, acknowledged: acknowledged, expectation: .prefix)
            failures += findings.all
            report.pointsChecked += findings.counts.reduce(0, +)
            report.unacknowledgedPresent += zip(findings.counts, acknowledged).map { max(0, $0 - $1) }.reduce(0, +)
            let verify = try store.verify(run)
            if !verify.isClean { failures += verify.problems.map { "verify: \($0)" } }
        } catch {
            failures.append("reading the run: \(error)")
        }
        if let cli = cliExecutable, failures.isEmpty {
            do {
                let verify = try ChildProcess(cli, ["verify", "--store", storePath, run.description]).finish()
                if verify.status != 0 {
                    let status = verify.status.map { "exited \($0)" } ?? "was killed"
                    failures.append(
                        "runlog verify \(status): \(verify.output.split(separator: "\n").joined(separator: " | "))")
                }
            } catch {
                failures.append("starting runlog verify: \(error)")
            }
        }
        return failures
    }
}
