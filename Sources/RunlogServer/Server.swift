import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Runlog

/// How a `TrackingServer` listens and behaves.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported to `run`'s `onRunning`).
    public var port = 5000
    /// When set, every request but `/health` and `/version` must carry `Authorization: Bearer <token>`.
    public var token: String?
    /// A run writer no request used for this long is closed (reopened by the next write).
    public var idleWriterTimeout: Duration = .seconds(60)
    /// At most this many run writers stay open (each holds a thread and file handles); opening
    /// one more closes the least recently used idle one first.
    public var maxOpenWriters = 256
    /// Threads that do the store's blocking work (flushes wait for fsync there).
    public var threads = 16
    public var logger = Logger(label: "runlog.server")

    public init() {}
}

/// `runlog server`: MLflow's tracking REST API (and artifact proxy) over one Runlog store.
public final class TrackingServer: Sendable {
    /// The MLflow version whose REST API this server speaks, as `GET /version` reports it.
    public static let mlflowVersion = "3.17.2"

    public let configuration: ServerConfiguration
    let adapter: StoreAdapter
    let pool: NIOThreadPool

    public init(store: TrackingStore, configuration: ServerConfiguration = ServerConfiguration()) throws(RunlogError) {
        self.configuration = configuration
        self.adapter = try StoreAdapter(
            store: store, logger: configuration.logger, maxOpenWriters: configuration.maxOpenWriters)
        self.pool = NIOThreadPool(numberOfThreads: max(1, configuration.threads))
        pool.start()
    }

    /// The router with every endpoint: for `run`, and for tests that send requests to it directly.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        if let token = configuration.token { router.add(middleware: TokenMiddleware(token: Array(token.utf8))) }
        router.get("/health") { _, _ in "OK" }
        router.get("/version") { _, _ in TrackingServer.mlflowVersion }
        Routes(adapter: adapter, pool: pool).register(on: router)
        UIRoutes(adapter: adapter, pool: pool).register(on: router)
        return router
    }

    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "runlog"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: configuration.logger)
    }

    /// Serves until SIGINT or SIGTERM; then stops accepting, finishes the requests in flight,
    /// flushes and closes every writer, and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(onRunning: onRunning)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            group.addTask { [adapter, pool, configuration] in
                let period = min(configuration.idleWriterTimeout, .seconds(5))
                while !Task.isCancelled {
                    try? await Task.sleep(for: period)
                    _ = try? await pool.runIfActive { adapter.writers.closeIdle(configuration.idleWriterTimeout) }
                }
            }
            try await group.next()
            group.cancelAll()
        }
        try await shutdown()
    }

    /// Closes every writer (each flushes) and stops the thread pool.
    public func shutdown() async throws {
        adapter.writers.closeAll()
        try await pool.shutdownGracefully()
    }

    /// Writers open now (runs written through this server and not yet closed as idle).
    public var openWriters: Int { adapter.writers.openCount }

    /// Closes writers idle for `idle` now, as the server does in the background.
    @discardableResult
    public func closeIdleWriters(_ idle: Duration) -> Int { adapter.writers.closeIdle(idle) }
}
