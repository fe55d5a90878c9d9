import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Runlog
import RunlogUI

/// Registers MLflow's endpoints under both of MLflow's prefixes. Every handler's store work runs on
/// the server's thread pool, never on an event loop: a flush may wait for an fsync.
struct Routes: Sendable {
    static let prefixes = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"]

    let adapter: StoreAdapter
    let pool: NIOThreadPool

    func register(on router: Router<BasicRequestContext>) {
        registerExperiments(on: router)
        registerRuns(on: router)
        registerMetrics(on: router)
        registerArtifacts(on: router)
        registerLoggedModels(on: router)
        registerRegistry(on: router)
        registerTraces(on: router)
        registerAjax(on: router)
    }

    private func registerExperiments(on router: Router<BasicRequestContext>) {
        post(router, "experiments/create") { a, r in try a.createExperiment(r) }
        get(router, "experiments/get") { a, q in try a.experiment(id: q.string("experiment_id")) }
        get(router, "experiments/get-by-name") { a, q in try a.experiment(name: q.string("experiment_name")) }
        post(router, "experiments/search") { a, r in try a.searchExperiments(r) }
        get(router, "experiments/search") { a, q in
            try a.searchExperiments(
                SearchExperimentsRequest(
                    max_results: try q.int64("max_results"), page_token: q.string("page_token"),
                    filter: q.string("filter"), order_by: q.strings("order_by"), view_type: q.string("view_type")))
        }
        post(router, "experiments/update") { a, r in try a.updateExperiment(r) }
        post(router, "experiments/delete") { a, r in try a.deleteExperiment(r) }
        post(router, "experiments/restore") { a, r in try a.restoreExperiment(r) }
        post(router, "experiments/set-experiment-tag") { a, r in try a.setExperimentTag(r) }
        post(router, "experiments/delete-experiment-tag") { a, r in try a.deleteExperimentTag(r) }
    }

    private func registerRuns(on router: Router<BasicRequestContext>) {
        post(router, "runs/create") { a, r in try a.createRun(r) }
        get(router, "runs/get") { a, q in try a.getRun(q.string("run_id") ?? q.string("run_uuid")) }
        post(router, "runs/update") { a, r in try a.updateRun(r) }
        post(router, "runs/delete") { a, r in try a.deleteRun(r) }
        post(router, "runs/restore") { a, r in try a.restoreRun(r) }
        post(router, "runs/search") { a, r in try a.searchRuns(r) }
        post(router, "runs/log-metric") { a, r in try a.logMetric(r) }
        post(router, "runs/log-parameter") { a, r in try a.logParam(r) }
        post(router, "runs/set-tag") { a, r in try a.setTag(r) }
        post(router, "runs/delete-tag") { a, r in try a.deleteTag(r) }
        post(router, "runs/log-batch", reading: LogBatchRequest.init(json:)) { a, r in try a.logBatch(r) }
        post(router, "runs/log-inputs") { a, r in try a.logInputs(r) }
        post(router, "runs/outputs") { a, r in try a.logOutputs(r) }
    }

    private func registerMetrics(on router: Router<BasicRequestContext>) {
        get(router, "metrics/get-history") { a, q in
            try a.history(
                run: q.string("run_id") ?? q.string("run_uuid"), key: q.string("metric_key"),
                maxResults: try q.int64("max_results"), pageToken: q.string("page_token"),
                allowDamaged: try q.bool("allow_damaged"))
        }
        get(router, "metrics/get-history-bulk") { a, q in
            try a.historyBulk(
                runs: q.strings("run_id"), key: q.string("metric_key"), maxResults: try q.int64("max_results"),
                allowDamaged: try q.bool("allow_damaged"))
        }
        get(router, "metrics/get-history-bulk-interval") { a, q in
            try a.historyBulkInterval(
                runs: q.strings("run_ids"), key: q.string("metric_key"), startStep: try q.int64("start_step"),
                endStep: try q.int64("end_step"), maxResults: try q.int64("max_results"),
                allowDamaged: try q.bool("allow_damaged"))
        }
    }

    // MARK: Registration

    /// A POST endpoint taking a JSON body, decoded with `Codable`.
    func post<Body: Decodable & Sendable, Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ path: String,
        _ handler: @escaping @Sendable (StoreAdapter, Body) throws -> Answer
    ) {
        on(router, .post, path) { a, body, _ in try handler(a, body) }
    }

    /// An endpoint of `method` taking a JSON body decoded with `Codable`; the handler also gets
    /// the path's parameters (`{model_id}`), percent-decoded.
    func on<Body: Decodable & Sendable, Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (StoreAdapter, Body, PathParameters) throws -> Answer
    ) {
        on(
            router, method, path,
            reading: { (bytes) throws(MLflowError) in
                // A DELETE or PATCH may come without a body (the client sends none when it has no
                // fields): that is an empty request, as MLflow's server takes it.
                let bytes =
                    bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } ? Data("{}".utf8) : bytes
                // Foundation's decoder forgives what MLflow's server refuses (a trailing comma, a bad
                // escape in a member no endpoint reads): the body is checked as JSON first.
                try JSONReader.validate(bytes)
                do {
                    return try WireCoding.decoder().decode(Body.self, from: bytes)
                } catch let error as DecodingError {
                    throw MLflowError.invalid(WireCoding.describe(error, body: bytes))
                } catch {
                    throw MLflowError.invalid("The request body could not be read: \(error)")
                }
            }, handler)
    }

    /// A POST endpoint taking a JSON body that `reading` turns into its request.
    private func post<Body: Sendable, Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ path: String,
        reading: @escaping @Sendable (Data) throws(MLflowError) -> Body,
        _ handler: @escaping @Sendable (StoreAdapter, Body) throws -> Answer
    ) {
        on(router, .post, path, reading: reading) { a, body, _ in try handler(a, body) }
    }

    /// An endpoint of `method` taking a JSON body that `reading` turns into its request.
    private func on<Body: Sendable, Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        reading: @escaping @Sendable (Data) throws(MLflowError) -> Body,
        _ handler: @escaping @Sendable (StoreAdapter, Body, PathParameters) throws -> Answer
    ) {
        let adapter = adapter
        let pool = pool
        for prefix in Self.prefixes {
            router.on(RouterPath(prefix + path), method: method) { request, context -> Response in
                let parameters = PathParameters(context)
                let bytes = try await Self.body(request)
                return try await pool.runIfActive { () throws -> Response in
                    try Self.json(try handler(adapter, try reading(bytes), parameters))
                }
            }
        }
    }

    /// A GET endpoint taking its arguments from the query string.
    func get<Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ path: String,
        _ handler: @escaping @Sendable (StoreAdapter, Query) throws -> Answer
    ) {
        get(router, path) { a, q, _ in try handler(a, q) }
    }

    /// A GET endpoint taking its arguments from the query string and the path (`{model_id}`).
    func get<Answer: Encodable & Sendable>(
        _ router: Router<BasicRequestContext>, _ path: String,
        _ handler: @escaping @Sendable (StoreAdapter, Query, PathParameters) throws -> Answer
    ) {
        let adapter = adapter
        let pool = pool
        let respond: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let query = Query(request)
            let parameters = PathParameters(context)
            return try await pool.runIfActive { () throws -> Response in
                try Self.json(try handler(adapter, query, parameters))
            }
        }
        for prefix in Self.prefixes {
            router.get(RouterPath(prefix + path), use: respond)
            // HEAD answers as GET would, without the body (RFC 9110).
            router.head(RouterPath(prefix + path)) { request, context in
                Response.headOnly(try await respond(request, context))
            }
        }
    }

    /// The request body, up to the limit (a larger one is answered 413 with MLflow's error JSON).
    static func body(_ request: Request, limit: Int = Limits.requestBody) async throws -> Data {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw limit == Limits.requestBody ? MLflowError.bodyTooLarge : MLflowError.tooLarge(limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw limit == Limits.requestBody ? MLflowError.bodyTooLarge : MLflowError.tooLarge(limit)
        }
        return Data(buffer: buffer)
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        if let writable = value as? any JSONWritable {
            var writer = JSONWriter(capacity: 1 << 12)
            writable.write(to: &writer)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: writer.buffer))
        }
        let data = try WireCoding.encoder().encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The query string's arguments, decoded as MLflow's server (Flask) decodes them: `+` is a
/// space, `%XX` a byte, and a repeated name keeps every value in order.
struct Query: Sendable {
    private let fields: [String: [String]]

    init(_ request: Request) {
        fields = UIRequest.fields(Substring(request.uri.query ?? ""))
    }

    func string(_ name: String) -> String? { fields[name]?.first }

    func strings(_ name: String) -> [String] { fields[name] ?? [] }

    func int64(_ name: String) throws(MLflowError) -> Int64? {
        guard let text = string(name), !text.isEmpty else { return nil }
        guard let value = Int64(text) else {
            throw MLflowError.invalid("Invalid value '\(text.prefix(60))' for parameter '\(name)': expected an integer")
        }
        return value
    }

    /// `true` or `false` (absent: false).
    func bool(_ name: String) throws(MLflowError) -> Bool {
        guard let text = string(name), !text.isEmpty else { return false }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw MLflowError.invalid(
                "Invalid value '\(text.prefix(60))' for parameter '\(name)': expected true or false")
        }
    }
}

/// A route's path parameters (`{model_id}`), percent-decoded.
struct PathParameters: Sendable {
    private let values: [String: String]

    init(_ context: BasicRequestContext) {
        var values: [String: String] = [:]
        for (name, value) in context.parameters {
            values[String(name)] = String(value).removingPercentEncoding ?? String(value)
        }
        self.values = values
    }

    subscript(_ name: String) -> String { values[name] ?? "" }
}

extension Response {
    /// The answer to a HEAD: `response`'s status and headers, its length, no body.
    static func headOnly(_ response: Response) -> Response {
        var head = response
        let length = head.body.contentLength
        head.body = ResponseBody()
        if let length { head.headers[.contentLength] = String(length) }
        return head
    }

    /// A HEAD's answer for a body of `length` bytes of text.
    static func headOnly(length: Int) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .contentLength: String(length)])
    }
}
