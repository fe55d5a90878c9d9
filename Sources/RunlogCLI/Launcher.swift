import Foundation
import Logging
import Runlog
import RunlogServer
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program as a run, for `runlog run` and `runlog rerun`: records what reproduces it,
/// serves the run to it (a Swift child takes it up from `RUNLOG_STORE` / `RUNLOG_RUN_ID`, a
/// Python one logs through a loopback `runlog server` at `MLFLOW_TRACKING_URI` into
/// `MLFLOW_RUN_ID`), copies its output to the terminal and into the run, samples system
/// metrics, and records FINISHED, FAILED or KILLED from how it ended.
///
/// Who writes the run: while the child runs, the run is written by whoever holds it — the
/// child (a Swift program), or this process's server on behalf of a Python client. System
/// metrics are written through the same server writer; while a Swift child holds the run they
/// wait in memory (at most `maxPendingSamples`) and land when it lets go, at its exit at the
/// latest. Nothing is lost either way.
struct Launcher {
    var store: TrackingStore
    var recipe: RunRecipe
    var name: String?
    var extraTags: [String: String] = [:]
    /// The environment the child gets (allow-listed names are set or unset by a rerun).
    var environment: [String: String]
    var trackingURI: String?
    /// What `runlog rerun` captured and hashed already to check the state (nil, empty: do it here).
    var capture: RunCapture? = nil
    var digests: [String: String] = [:]

    static let maxPendingSamples = 100_000

    /// Starts the run and the child; returns the run and the exit status to exit with (the
    /// child's, or 128 + the signal that killed it).
    func launch() throws -> (run: RunID, status: Int32) {
        let started = monotonicSeconds()
        guard
            let executable = RunCapture.executable(
                recipe.command[0], path: environment["PATH"], directory: recipe.directory)
        else {
            throw CLIError("no program \"\(recipe.command[0])\" to run (not a path, not found on PATH)")
        }
        var datasets: [(name: String, path: String, digest: String)] = []
        for name in recipe.inputs.keys.sorted() {
            let path = recipe.inputs[name]!
            datasets.append((name, path, try digests[path] ?? sha256Digest(ofPath: path)))
        }
        let experiment = try store.experiment(named: recipe.experiment)
        var capture =
            self.capture
            ?? RunCapture.capture(
                command: recipe.command, directory: recipe.directory, environment: environment,
                extraNames: recipe.environment)
        capture.inputs[RunRecipe.inputName] = recipe.recorded
        let active = try store.startRun(
            in: experiment, name: name, params: recipe.params, tags: recipe.tags.merging(extraTags) { $1 },
            captureEnvironment: false)
        let run = active.id
        do {
            try active.record(capture)
            for dataset in datasets {
                try active.logInput(name: dataset.name, source: dataset.path, digest: dataset.digest)
            }
            try active.close()
        } catch {
            try? active.finish(.failed)
            throw error
        }
        standardError("runlog run: run \(run) in experiment \"\(experiment.name)\"")

        let server: BackgroundServer?
        do {
            server = trackingURI == nil ? try startServer() : nil
        } catch {
            try? store.setStatus(.failed, of: run)
            throw error
        }
        var childEnvironment = environment
        childEnvironment["RUNLOG_STORE"] = absolutePath(store.path)
        childEnvironment["RUNLOG_RUN_ID"] = run.description
        childEnvironment["MLFLOW_TRACKING_URI"] = trackingURI ?? server.map { "http://127.0.0.1:\($0.port)" }
        childEnvironment["MLFLOW_RUN_ID"] = run.description
        childEnvironment["MLFLOW_EXPERIMENT_ID"] = experiment.id
        if childEnvironment["PYTHONUNBUFFERED"] == nil { childEnvironment["PYTHONUNBUFFERED"] = "1" }

        fflush(nil)  // what this command printed comes before the program's output
        let output = try OutputFiles()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = Array(recipe.command.dropFirst())
        child.currentDirectoryURL = URL(fileURLWithPath: recipe.directory)
        child.environment = childEnvironment
        child.standardOutput = output.stdout.pipe
        child.standardError = output.stderr.pipe
        SignalForwarding.install()
        let exited = child.exitSignal()
        do {
            try child.run()
        } catch {
            server?.stop()
            try? store.setStatus(.failed, of: run)
            throw CLIError("cannot start \(executable): \(error.localizedDescription)")
        }
        SignalForwarding.child.store(child.processIdentifier, ordering: .releasing)
        output.startCopying()
        let sampler =
            recipe.systemMetricsSeconds > 0
            ? MetricsSampling(
                run: run, processID: child.processIdentifier, seconds: recipe.systemMetricsSeconds, store: store,
                server: server?.server)
            : nil
        exited.wait()
        SignalForwarding.child.store(0, ordering: .releasing)
        let signalled = SignalForwarding.received.load(ordering: .acquiring)
        output.finishCopying()
        let pending = sampler?.stop() ?? []
        server?.stop()

        let killedBy: Int32? = child.terminationReason == .uncaughtSignal ? child.terminationStatus : nil
        let status: RunStatus =
            killedBy != nil || (signalled != 0 && child.terminationStatus != 0)
            ? .killed : child.terminationStatus == 0 ? .finished : .failed
        // Taken up once the child, or what it left running, lets go of it.
        let final = try store.resumeRun(run, patience: .seconds(30))
        for sample in pending {
            for (key, value) in sample.values { try final.log(key, value, step: sample.step, timestamp: sample.time) }
        }
        try final.logArtifact(file: output.stdout.path, path: "runlog/stdout.txt")
        try final.logArtifact(file: output.stderr.path, path: "runlog/stderr.txt")
        output.remove()
        try final.finish(status)
        let exitStatus = killedBy.map { 128 + $0 } ?? child.terminationStatus
        let how = killedBy.map { "killed by signal \($0)" } ?? "exit \(child.terminationStatus)"
        standardError(
            "runlog run: run \(run) \(status) (\(how)) after \(String(format: "%.1f", monotonicSeconds() - started)) s")
        return (run, exitStatus)
    }

    private func startServer() throws -> BackgroundServer {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = 4
        // Let go of the run soon after a write, so a Swift child can take it up.
        configuration.idleWriterTimeout = .seconds(2)
        var logger = Logger(label: "runlog.run.server")
        logger.logLevel = .warning
        configuration.logger = logger
        return try BackgroundServer(server: TrackingServer(store: store, configuration: configuration))
    }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// A `TrackingServer` on a free loopback port, on a task of its own, that handles no signal.
final class BackgroundServer: Sendable {
    let server: TrackingServer
    let port: Int
    private let ended = DispatchSemaphore(value: 0)

    init(server: TrackingServer) throws {
        self.server = server
        let ready = DispatchSemaphore(value: 0)
        let port = Mutex(0)
        let failure = Mutex<String?>(nil)
        let ended = self.ended
        Task {
            do {
                try await server.serveUntilStopped { bound in
                    port.withLock { $0 = bound }
                    ready.signal()
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
                ready.signal()
            }
            ended.signal()
        }
        let bound = ready.wait(timeout: .now() + 30) == .success ? port.withLock { $0 } : 0
        guard bound > 0 else {
            throw CLIError(
                "the run's tracking server did not start: \(failure.withLock { $0 } ?? "no port after 30 s")")
        }
        self.port = bound
    }

    /// Stops serving (requests in flight finish) and closes the server's writers.
    func stop() {
        let server = server
        Task { await server.stop() }
        _ = ended.wait(timeout: .now() + 30)
    }
}

/// SIGINT and SIGTERM while the child runs: a signal another process sent (`kill`) is passed on
/// to the child; one the terminal sent (Ctrl-C) reached the child already, through its process
/// group, and is not sent twice. Either way this process stays to record how the child ended.
enum SignalForwarding {
    static let child = Atomic<Int32>(0)
    static let received = Atomic<Int32>(0)

    static func install() {
        // A parent may have started this process with the signals blocked (the mask is
        // inherited): unblock them here, on the thread that starts the child, so that both this
        // process and the child (which inherits this thread's mask) see them.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGINT)
        sigaddset(&unblocked, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in
                SignalForwarding.received.store(signal, ordering: .releasing)
                let fromTerminal = (info?.pointee.si_code ?? 0) > 0  // SI_KERNEL; kill(2) sends SI_USER (0)
                let pid = SignalForwarding.child.load(ordering: .acquiring)
                if pid > 0 && !fromTerminal { kill(pid, signal) }
            }
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}

/// The child's stdout and stderr: copied to ours as they come, and into files kept as artifacts.
final class OutputFiles: Sendable {
    final class Stream: Sendable {
        let pipe = Pipe()
        let path: String
        let target: Int32
        private let done = DispatchSemaphore(value: 0)

        init(path: String, target: Int32) throws {
            self.path = path
            self.target = target
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CLIError("cannot create \(path) to keep the program's output")
            }
        }

        func start() {
            // The child holds the write end now; ours must close so that the child's exit ends the copy.
            try? pipe.fileHandleForWriting.close()
            let source = pipe.fileHandleForReading.fileDescriptor
            let (path, target, done) = (path, target, done)
            Thread.detachNewThread {
                let file = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    buffer.withUnsafeBytes { bytes in
                        writeAll(target, bytes.baseAddress!, count)
                        if file >= 0 { writeAll(file, bytes.baseAddress!, count) }
                    }
                }
                if file >= 0 { close(file) }
                done.signal()
            }
        }

        /// Waits for the copy to reach the end of the output; a process the child left behind
        /// may hold the pipe open, so after 5 s the copy is left to end with that process.
        func finish() { _ = done.wait(timeout: .now() + 5) }
    }

    let stdout: Stream
    let stderr: Stream
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "runlog-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        stdout = try Stream(path: directory + "/stdout.txt", target: 1)
        stderr = try Stream(path: directory + "/stderr.txt", target: 2)
    }

    func startCopying() {
        stdout.start()
        stderr.start()
    }

    func finishCopying() {
        stdout.finish()
        stderr.finish()
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) {
    var written = 0
    while written < count {
        let n = write(fd, bytes + written, count - written)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        written += n
    }
}

/// System metrics of the child's process tree and the machine, written into the run through the
/// server's writer (or a writer of its own when there is no server); samples that cannot be
/// written now — a Swift child holds the run — are kept for later.
final class MetricsSampling: Sendable {
    private let pending = Mutex<[SystemSample]>([])
    private let run: RunID
    private let store: TrackingStore
    private let server: TrackingServer?
    private let sampling = Mutex<PeriodicSampling?>(nil)

    init(run: RunID, processID: Int32, seconds: Double, store: TrackingStore, server: TrackingServer?) {
        self.run = run
        self.store = store
        self.server = server
        let sampling = PeriodicSampling(every: seconds, processID: processID, lastSample: true) { [self] sample in
            queue(sample)
            writePending()
        }
        self.sampling.withLock { $0 = sampling }
    }

    private func queue(_ sample: SystemSample) {
        pending.withLock { queued in
            queued.append(sample)
            if queued.count > Launcher.maxPendingSamples { queued.removeFirst() }
        }
    }

    /// Writes the pending samples; when the run is held elsewhere they stay pending.
    private func writePending() {
        let batch = pending.withLock { $0 }
        let write = { (active: ActiveRun) throws(RunlogError) in
            for sample in batch {
                for (key, value) in sample.values {
                    try active.log(key, value, step: sample.step, timestamp: sample.time)
                }
            }
            try active.flush()
        }
        do {
            if let server {
                try server.write(run, write)
                // Let go of the run at once: a Swift child that starts late (a loaded machine)
                // takes it up with a bounded patience, and an idle writer held it past that.
                server.closeIdleWriters(.zero)
            } else {
                let active = try store.resumeRun(run)
                try write(active)
                try active.close()
            }
            pending.withLock { $0.removeFirst(min(batch.count, $0.count)) }
        } catch {
            // Held by the child (a Swift program): they wait for the run to be free.
        }
    }

    /// Stops sampling and returns the samples not written yet, the last one — taken as the
    /// program ends, so a program shorter than the interval has one too — among them.
    func stop() -> [SystemSample] {
        if let last = sampling.withLock({ $0 })?.stop() { queue(last) }
        return pending.withLock { $0 }
    }
}
