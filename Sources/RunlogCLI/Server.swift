import ArgumentParser
import Foundation
import Logging
import Runlog
import RunlogServer
import RunlogStore
import Synchronization

/// `runlog server` (and `runlog ui`, as MLflow users type `mlflow ui`).
struct Server: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Serve MLflow's tracking REST API and the web UI over the store, so the stock mlflow client logs into it.",
        discussion: """
            Point any MLflow client at it: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py. \
            Serves /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (experiments, runs, metrics, log-batch, \
            inputs, logged models, the model registry), MLflow's artifact proxy \
            (/api/2.0/mlflow-artifacts/, for runs' and logged models' files), GET /health and GET \
            /version, and the web UI at / (experiments, runs table, run page, compare page). Traces are \
            not kept. Each request is logged to stderr in the Common Log Format (--access-log). Creates the store \
            when missing. Listens on loopback unless --host says otherwise; with a token \
            (--token-file, or $RUNLOG_SERVER_TOKEN) every API request must carry \
            "Authorization: Bearer <token>", which the client sends when MLFLOW_TRACKING_TOKEN is set, \
            and a browser signs in once at /login. \
            A 200 from a logging call means its data is in the run's log; --durability says when it \
            is fsynced. SIGINT or SIGTERM finishes the requests in flight, closes every run writer \
            and exits 0.
            """,
        aliases: ["ui"])

    @OptionGroup var store: StoreOptionsGroup

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one, printed at start).")
    var port = 5000

    @Option(
        help: ArgumentHelp(
            "When logged data is fsynced: 'flush' (before each logging call is answered; concurrent calls to "
                + "a run share one fsync), 'never' (left to the kernel), or 'interval:MS'.",
            valueName: "flush|never|interval:MS"))
    var durability = "flush"

    @Option(help: "A file holding the token clients must send (default: $RUNLOG_SERVER_TOKEN).")
    var tokenFile: String?

    @Option(help: "Seconds after which a run writer no request uses is closed (reopened on the next write).")
    var idleTimeout = 60

    @Option(help: "The most run writers kept open at once (each holds a thread and file handles).")
    var maxOpenWriters = 256

    @Option(
        help: ArgumentHelp(
            "Where to log each request (method, path, status, bytes, seconds; no bodies or tokens) in the Common "
                + "Log Format: 'stderr' (default), 'off', or a file to append to.",
            valueName: "stderr|off|FILE"))
    var accessLog = "stderr"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, not \(port)") }
        guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        guard maxOpenWriters >= 1 else { throw ValidationError("--max-open-writers must be at least 1") }
        _ = try parsedDurability()
    }

    func parsedDurability() throws -> Durability {
        switch durability {
        case "flush": return .onFlush
        case "never": return .never
        case let text where text.hasPrefix("interval:"):
            guard let milliseconds = Int(text.dropFirst("interval:".count)), milliseconds > 0 else {
                throw ValidationError("--durability interval:MS wants a positive number of milliseconds, not \(text)")
            }
            return .interval(milliseconds: milliseconds)
        default:
            throw ValidationError("--durability must be flush, never or interval:MS, not \(durability)")
        }
    }

    func token() throws -> String? {
        let text: String
        if let tokenFile {
            do {
                text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw CLIError("cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
        } else if let value = ProcessInfo.processInfo.environment["RUNLOG_SERVER_TOKEN"] {
            text = value
        } else {
            return nil
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw CLIError(tokenFile.map { "the token file \($0) is empty" } ?? "RUNLOG_SERVER_TOKEN is empty")
        }
        return token
    }

    func run() throws {
        var options = StoreOptions()
        options.durability = try parsedDurability()
        let tracking = try TrackingStore.open(at: store.path, options: options)
        defer { tracking.engine.close() }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.token = try token()
        configuration.idleWriterTimeout = .seconds(idleTimeout)
        configuration.maxOpenWriters = maxOpenWriters
        var logger = Logger(label: "runlog.server")
        logger.logLevel = .warning
        configuration.logger = logger
        switch accessLog {
        case "off": configuration.accessLog = nil
        case "stderr", "-": configuration.accessLog = .standardError
        default: configuration.accessLog = try AccessLog(path: accessLog)
        }
        if !["127.0.0.1", "localhost", "::1"].contains(host) && configuration.token == nil {
            standardError(
                "warning: serving on \(host) without a token: anyone who can reach this port can read and write "
                    + "the store (set --token-file or RUNLOG_SERVER_TOKEN)")
        }
        let server = try TrackingServer(store: tracking, configuration: configuration)
        let storePath = store.path
        let host = host
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    FileHandle.standardOutput.write(
                        Data("runlog server: \(storePath) at http://\(shown):\(port) — Ctrl-C stops\n".utf8))
                }
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        if case .failure(let error) = outcome.withLock({ $0 }) {
            throw CLIError("the server stopped: \(error)")
        }
    }
}

func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
