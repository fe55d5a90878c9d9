import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Runlog
import ServiceLifecycle
import Synchronization

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
    /// The request log (`--access-log`); nil writes none.
    public var accessLog: AccessLog?

    public init() {}
}

/// `runlog server`: MLflow's tracking REST API (and artifact proxy) over one Runlog store.
public final class TrackingServer: Sendable {
    /// The MLflow version whose REST API this server speaks, as `GET /version` reports it.
    public static let mlflowVersion = "3.17.2"

    public let configuration: ServerConfiguration
    let adapter: StoreAdapter
    let pool: NIOThreadPool
    private let services = Mutex<ServiceGroup?>(nil)

    public init(store: TrackingStore, configuration: ServerConfiguration = ServerConfiguration()) throws(RunlogError) {
        self.configuration = configuration
        self.adapter = try StoreAdapter(
            store: store, logger: configuration.logger, maxOpenWriters: configuration.maxOpenWriters)
        self.pool = NIOThreadPool(numberOfThreads: max(1, configuration.threads))
        pool.start()
        let debris = store.removeAbandonedUploads()
        if !debris.isEmpty {
            configuration.logger.notice("removed \(debris.count) files of uploads that a stopped process left")
        }
    }

    /// The router with every endpoint: for `run`, and for tests that send requests to it directly.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let log = configuration.accessLog { router.add(middleware: AccessLogMiddleware(log: log)) }
        router.add(middleware: ErrorMiddleware())
        if let token = configuration.token { router.add(middleware: TokenMiddleware(token: Array(token.utf8))) }
        router.get("/health") { _, _ in "OK" }
        router.get("/version") { _, _ in TrackingServer.mlflowVersion }
        // HEAD answers as GET would, without the body (RFC 9110): load balancers and `curl -I` ask it.
        router.head("/health") { _, _ in Response.headOnly(length: 2) }
        router.head("/version") { _, _ in Response.headOnly(length: TrackingServer.mlflowVersion.utf8.count) }
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
        try await serve(handlingSignals: true, onRunning: onRunning)
    }

    /// Serves until `stop()`, handling no signal: for a process that handles its own (`runlog
    /// run`, which passes them to its child). Then closes every writer.
    public func serveUntilStopped(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await serve(handlingSignals: false, onRunning: onRunning)
    }

    /// Stops serving as SIGTERM would: no new connections, the requests in flight finish.
    public func stop() async {
        await services.withLock { $0 }?.triggerGracefulShutdown()
    }

    private func serve(handlingSignals: Bool, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let lifecycle = ServiceGroup(
            services: [application(onRunning: onRunning)],
            gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [], logger: configuration.logger)
        services.withLock { $0 = lifecycle }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await lifecycle.run() }
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

    /// Runs `body` with the writer this server keeps for `run` (opening it when none is open), so
    /// that the process serving the API can write into a run its clients write too.
    public func write(_ run: RunID, _ body: (ActiveRun) throws(RunlogError) -> Void) throws(RunlogError) {
        try adapter.writers.with(run, body)
    }

    /// Writers open now (runs written through this server and not yet closed as idle).
    public var openWriters: Int { adapter.writers.openCount }

    /// Closes writers idle for `idle` now, as the server does in the background.
    @discardableResult
    public func closeIdleWriters(_ idle: Duration) -> Int { adapter.writers.closeIdle(idle) }
}
