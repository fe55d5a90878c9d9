import Logging
import Runlog
import RunlogStore
import RunlogWorkloads

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The hostile-environment part of the campaign, on real file systems where the machine allows
/// mounting (root): a store on a full tmpfs, a store on a read-only mount, and a million distinct
/// metric keys in one run. (The tests cover the same through the I/O seam on any machine.)
package struct HostileCampaign {
    package struct Report: Sendable {
        package var lines: [String] = []
        package var failures: [String] = []
    }

    package var directory: String
    package var keys: Int
    /// The `runlog` executable, to check the CLI on the same mounts; nil skips those checks.
    package var cliExecutable: String?

    package init(directory: String, keys: Int, cliExecutable: String?) {
        self.directory = directory
        self.keys = keys
        self.cliExecutable = cliExecutable
    }

    /// Runs `runlog ARGUMENTS` with stdin from `input`; its output (stdout and stderr) and status.
    func runlog(_ arguments: [String], input: String = "/dev/null") -> (output: String, status: Int32?) {
        guard let cli = cliExecutable, let child = try? ChildProcess(cli, arguments, stdin: input, mergingStderr: true)
        else { return ("cannot start runlog", nil) }
        return child.finish()
    }

    static func options() -> StoreOptions {
        var options = StoreOptions()
        options.durability = .onFlush
        options.backgroundCompaction = false
        options.logger = quietLogger
        return options
    }

    package func run() -> Report {
        var report = Report()
        fullDisk(&report)
        readOnly(&report)
        manyKeys(&report)
        hostileImport(&report)
        cliEdges(&report)
        return report
    }

    /// Mounts a tmpfs of `size` at `path`; false when this machine does not allow it.
    static func mountTmpfs(_ path: String, size: String) -> Bool {
        mkdir(path, 0o755)
        return mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0
    }

    private func fullDisk(_ report: inout Report) {
        let mountPoint = directory + "/full"
        guard Self.mountTmpfs(mountPoint, size: "1m") else {
            report.lines.append("full disk: skipped (mounting a tmpfs needs root: \(String(cString: strerror(errno))))")
            return
        }
        defer { umount(mountPoint) }
        do {
            let store = try TrackingStore.open(at: mountPoint + "/store", options: Self.options())
            let run = try store.startRun(in: try store.experiment(named: "full"), captureEnvironment: false)
            var flushed: Int64 = 0
            var step: Int64 = 0
            var failure: RunlogError?
            while failure == nil && step < 10_000_000 {
                do {
                    for _ in 0..<1000 {
                        try run.log("loss", Double.random(in: 0..<1), step: step)
                        step += 1
                    }
                    try run.flush()
                    flushed = step
                } catch {
                    failure = error
                }
            }
            guard let failure, "\(failure)".contains("No space left on device") else {
                report.failures.append("full disk: logging into 1 MB never failed with ENOSPC (\(step) points)")
                return
            }
            // Space comes back (a file elsewhere on the disk is removed); the store reopens whole.
            let reopened = try TrackingStore.open(at: mountPoint + "/store", options: Self.options())
            let history = try reopened.history(of: run.id, "loss")
            let verify = try reopened.engine.verify(run.id)
            if history.count < flushed || !verify.isClean {
                report.failures.append(
                    "full disk: \(history.count) points back of \(flushed) flushed; verify clean: \(verify.isClean)")
            }
            // A compaction on the full disk fails to write its new segment and leaves no temporary file.
            let runDirectory = mountPoint + "/store/runs/\(run.id)"
            var compaction = "compaction: "
            do {
                compaction += "\(try reopened.engine.compact(run.id).outcome)"
            } catch {
                compaction +=
                    "failed (\(error.description.contains("No space left on device") ? "ENOSPC" : "\(error)"))"
            }
            let leftovers = files(under: runDirectory).filter { $0.contains("/compaction-") }
            if !leftovers.isEmpty {
                report.failures.append("full disk: \(compaction) left \(leftovers.joined(separator: ", "))")
            }
            if cliExecutable != nil {
                report.failures += cliOnFullDisk()
            }
            report.lines.append(
                "full disk (1 MB tmpfs): ENOSPC after \(flushed) flushed points, reported as \"\(failure)\"; reopened with \(history.count) points, verify clean; \(compaction), no temporary file left\(cliExecutable == nil ? "" : "; runlog ingest on a full disk: exit 1 naming ENOSPC, then runs and verify exit 0")"
            )
        } catch {
            report.failures.append("full disk: \(error)")
        }
    }

    private func readOnly(_ report: inout Report) {
        let source = directory + "/ro-source"
        let mountPoint = directory + "/ro"
        mkdir(source, 0o755)
        mkdir(mountPoint, 0o755)
        do {
            let writable = try TrackingStore.open(at: source + "/store", options: Self.options())
            let experiment = try writable.experiment(named: "ro")
            let run = try writable.startRun(in: experiment, params: ["lr": "0.1"], captureEnvironment: false)
            for step in 0..<10_000 { try run.log("loss", 1 / Double(step + 1), step: Int64(step)) }
            try run.finish()
            guard mount(source, mountPoint, nil, UInt(MS_BIND), nil) == 0 else {
                report.lines.append(
                    "read-only store: skipped (bind mounts need root: \(String(cString: strerror(errno))))")
                return
            }
            defer { umount(mountPoint) }
            guard mount(source, mountPoint, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) == 0 else {
                report.lines.append(
                    "read-only store: skipped (remount read-only failed: \(String(cString: strerror(errno))))")
                return
            }
            let store = try TrackingStore.open(at: mountPoint + "/store", options: Self.options())
            let points = try store.history(of: run.id, "loss").count
            let found = try store.search("params.lr = '0.1'").runs.count
            var refusals: [String] = []
            do {
                _ = try store.startRun(in: experiment, captureEnvironment: false)
            } catch {
                refusals.append("\(error)")
            }
            do {
                try store.setStatus(.killed, of: run.id)
            } catch {
                refusals.append("\(error)")
            }
            guard points == 10_000, found == 1, refusals.count == 2,
                refusals.allSatisfy({ $0.contains("Read-only file system") })
            else {
                report.failures.append("read-only store: \(points) points, \(found) runs found, refusals: \(refusals)")
                return
            }
            if cliExecutable != nil {
                let runs = runlog(["runs", "--store", mountPoint + "/store"])
                let ingest = runlog(["ingest", "--store", mountPoint + "/store", "--experiment", "ro"])
                if runs.status != 0 || ingest.status != 1 || !ingest.output.contains("Read-only file system") {
                    report.failures.append(
                        "read-only store, CLI: runs exited \(String(describing: runs.status)), ingest exited \(String(describing: ingest.status)): \(ingest.output)"
                    )
                }
            }
            report.lines.append(
                "read-only store (read-only bind mount): history, search read; starting a run refused: \"\(refusals[0])\""
            )
        } catch {
            report.failures.append("read-only store: \(error)")
        }
    }

    /// `runlog ingest` into the full tmpfs: a clear error and exit 1; the store still lists and
    /// verifies, with the points the ingest flushed before the disk filled.
    private func cliOnFullDisk() -> [String] {
        let mountPoint = directory + "/full-cli"
        guard Self.mountTmpfs(mountPoint, size: "1m") else { return [] }
        defer { umount(mountPoint) }
        let input = directory + "/points.csv"
        let file = fopen(input, "w")
        var random = SeededRandom(seed: 7)
        for step in 0..<400_000 { fputs("loss,\(step),\(random.unit())\n", file) }
        fclose(file)
        let store = mountPoint + "/cli-store"
        let ingest = runlog(["ingest", "--store", store, "--experiment", "full"], input: input)
        guard ingest.status == 1, ingest.output.contains("No space left on device") else {
            return ["full disk, CLI: ingest exited \(String(describing: ingest.status)): \(ingest.output.suffix(300))"]
        }
        let runs = runlog(["runs", "--store", store, "--format", "csv"])
        let verify = runlog(["verify", "--store", store])
        guard runs.status == 0, verify.status == 0, runs.output.split(separator: "\n").count == 2 else {
            return [
                "full disk, CLI: runs exited \(String(describing: runs.status)), verify \(String(describing: verify.status)): \(verify.output)"
            ]
        }
        return []
    }

    /// `runlog import mlflow` of `HostileMLruns`: it must end (exit 1, not a signal, within the
    /// child's deadline), import the good runs, and name every refused run and skipped file.
    private func hostileImport(_ report: inout Report) {
        guard cliExecutable != nil else { return }
        let root = directory + "/import"
        let expectation: HostileMLruns.Expectation
        do {
            expectation = try HostileMLruns.make(at: root + "/mlruns", outside: root + "/outside")
        } catch {
            report.failures.append("hostile import: building the directory: \(error)")
            return
        }
        let started = monotonicSeconds()
        let result = runlog(["import", "mlflow", root + "/mlruns", "--store", root + "/store"])
        let seconds = monotonicSeconds() - started
        var failures: [String] = []
        if result.status != 1 { failures.append("exited \(String(describing: result.status)), not 1") }
        if !result.output.contains("imported \(expectation.imported.count) runs") {
            failures.append("did not import the \(expectation.imported.count) good runs")
        }
        for (path, word) in expectation.refusedRuns.merging(expectation.skipped, uniquingKeysWith: { a, _ in a })
        where !result.output.split(separator: "\n").contains(where: { $0.contains(path) && $0.contains(word) }) {
            failures.append("\(path) not reported (\"\(word)\")")
        }
        report.failures += failures.map { "hostile import: \($0): \(result.output.suffix(400))" }
        report.lines.append(
            "hostile import: \(expectation.imported.count) good runs imported, \(expectation.refusedRuns.count) runs "
                + "and 1 experiment refused, \(expectation.skipped.count) links and special files skipped, "
                + "in \(fixed(seconds * 1000)) ms")
    }

    /// The CLI against hostile data: a tag and a param holding a terminal's control sequences and
    /// a bidirectional override reach `show` and `runs` escaped, CSV with their bytes; ingest's bad
    /// lines (a hex value, a key past `--max-keys`) cost only themselves and JSON members it does
    /// not know are skipped; a 200 MiB line is refused without being held in memory; and points
    /// become readable while the input idles, the pipe still open.
    private func cliEdges(_ report: inout Report) {
        guard let cli = cliExecutable else { return }
        let root = directory + "/cli"
        mkdir(root, 0o755)
        let store = root + "/store"
        var failures: [String] = []
        let controls: Set<Unicode.Scalar> = ["\u{1B}", "\u{07}", "\u{202E}"]
        let hostile = "\u{1B}]0;X\u{07}\u{1B}[2J\u{202E}"
        let started = runlog([
            "run", "--store", store, "--experiment", "t", "--tag", "note=" + hostile, "--param", "p=" + hostile, "--",
            "/bin/true",
        ])
        let id = started.output.split(separator: " ").first(where: { $0.count == 32 }).map(String.init) ?? "?"
        for arguments in [["show", id], ["runs", "--experiment", "t"], ["scan", id, "no-such-key"]] {
            let output = runlog(arguments + ["--store", store]).output
            if output.unicodeScalars.contains(where: controls.contains) {
                failures.append("runlog \(arguments[0]) printed a raw control character")
            }
        }
        let csv = runlog(["runs", "--store", store, "--experiment", "t", "--format", "csv"]).output
        if !csv.contains(hostile) { failures.append("runs --format csv did not keep the param's bytes") }

        let lines = root + "/lines"
        try? writeFile(
            lines,
            Array(
                "loss,1,0x10\nloss,2,0.5\n{\"key\":\"acc\",\"step\":1,\"value\":0.7,\"extra\":{\"a\":[1,{\"b\":2}]}}\nk1,1,1\nk2,1,1\n"
                    .utf8)
        )
        let ingest = runlog(["ingest", "--store", store, "--experiment", "i", "--max-keys", "3"], input: lines)
        for needle in [
            #"line 1: value "0x10" is not a number"#, "line 5: the run has 3 distinct keys", "3 points, 2 bad lines",
        ]
        where !ingest.output.contains(needle) {
            failures.append("ingest of bad lines: no \"\(needle)\" in: \(ingest.output.suffix(300))")
        }

        let long = root + "/long"
        if let file = fopen(long, "w") {
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            for _ in 0..<200 { _ = chunk.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } }
            fputs("\nloss,3,1.5\n", file)
            fclose(file)
        }
        var longIngest: (output: String, status: Int32?) = ("cannot start runlog", nil)
        var childPeak = 0.0
        if let child = try? ChildProcess(
            cli, ["ingest", "--store", store, "--experiment", "long"], stdin: long, mergingStderr: true)
        {
            childPeak = peakResidentMB(of: child.pid)
            longIngest = child.finish()
        }
        unlink(long)
        if !longIngest.output.contains("line 1: longer than") || !longIngest.output.contains("1 points") {
            failures.append("ingest of a 200 MiB line: \(longIngest.output.suffix(300))")
        }
        if childPeak > 150 {
            failures.append("ingest of a 200 MiB line peaked at \(fixed(childPeak)) MB resident")
        }

        let fifo = root + "/fifo"
        mkfifo(fifo, 0o600)
        var idleSeconds = -1.0
        // The write end opens first (a read end held here lets it), so that the child's open of
        // its stdin, which posix_spawn runs before the child starts, does not wait for a writer. Both
        // close on exec: a child holding the write end would never see the end of its input.
        let holder = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let writer = open(fifo, O_WRONLY | O_CLOEXEC)
        if let child = try? ChildProcess(
            cli, ["ingest", "--store", store, "--experiment", "idle", "--run-name", "idle"], stdin: fifo,
            mergingStderr: true)
        {
            close(holder)
            let text = (0..<100).map { "loss,\($0),0.5\n" }.joined()
            _ = text.utf8CString.withUnsafeBytes { write(writer, $0.baseAddress, $0.count - 1) }
            let written = monotonicSeconds()
            while idleSeconds < 0 && monotonicSeconds() - written < 10 {
                let scan = runlog(["scan", "--store", store, "idle/idle", "loss", "--format", "csv"])
                if scan.output.split(separator: "\n").count == 101 { idleSeconds = monotonicSeconds() - written }
                usleep(200_000)
            }
            close(writer)
            _ = child.finish()
        } else {
            close(holder)
            close(writer)
        }
        if idleSeconds < 0 { failures.append("ingest: 100 points not readable within 10 s while its input idled") }
        report.failures += failures.map { "CLI edges: \($0)" }
        report.lines.append(
            "CLI edges: control sequences in a tag and a param escaped by show, runs and scan's error, kept by CSV; "
                + "ingest's hex value and 4th key cost their lines only; a 200 MiB line refused, ingest's peak RSS "
                + "\(fixed(childPeak)) MB; 100 idle points readable after \(fixed(idleSeconds)) s")
    }

    /// The child's peak resident set in MB, read from /proc until it ends. (Its rusage would not do:
    /// a child spawned with vfork's shared memory inherits the campaign's own peak.)
    private func peakResidentMB(of pid: pid_t) -> Double {
        var peak = 0.0
        for _ in 0..<3000 {
            // A zombie has no memory left to report.
            guard let kB = SystemSampler.fields(of: "/proc/\(pid)/status")["VmHWM"] else { break }
            peak = max(peak, kB / 1024)
            usleep(10_000)
        }
        return peak
    }

    private func manyKeys(_ report: inout Report) {
        do {
            let started = monotonicSeconds()
            var options = Self.options()
            options.durability = .never
            let store = try TrackingStore.open(at: directory + "/keys", options: options)
            let run = try store.startRun(in: try store.experiment(named: "keys"), captureEnvironment: false)
            for i in 0..<keys { try run.log("metric/\(i)", Double(i), step: 1) }
            try run.finish()
            let logged = monotonicSeconds() - started
            let reopened = try TrackingStore.open(at: directory + "/keys", options: options)
            let info = try reopened.run(run.id)
            let opened = monotonicSeconds() - started - logged
            let verify = try reopened.engine.verify(run.id)
            guard info.metrics.count == keys, info.metrics["metric/\(keys - 1)"]?.last.value == Double(keys - 1),
                verify.isClean
            else {
                report.failures.append("\(keys) keys: \(info.metrics.count) listed after reopening")
                return
            }
            report.lines.append(
                "\(keys) distinct keys in one run: logged and finished in \(fixed(logged)) s, reopened in \(fixed(opened)) s, all listed, verify clean; peak RSS \(fixed(peakResidentMegabytes())) MB"
            )
        } catch {
            report.failures.append("\(keys) keys: \(error)")
        }
    }
}
