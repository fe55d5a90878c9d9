import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Runlog
import RunlogReliability
import RunlogServer
import RunlogStore
import Testing

/// A server over a fresh store, and a client that sends requests straight to its router.
struct ServerHarness {
    let directory = TemporaryDirectory()
    let store: TrackingStore
    let server: TrackingServer

    /// `prepare` may write into the store's directory before the server opens it.
    init(
        token: String? = nil, maxOpenWriters: Int = 256, accessLog: AccessLog? = nil,
        prepare: (String) throws -> Void = { _ in }
    ) throws {
        try prepare(directory.store)
        var options = StoreOptions()
        options.durability = .never
        options.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
        store = try TrackingStore.open(at: directory.store, options: options)
        var configuration = ServerConfiguration()
        configuration.token = token
        configuration.threads = 4
        configuration.maxOpenWriters = maxOpenWriters
        configuration.accessLog = accessLog
        configuration.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
        server = try TrackingServer(store: store, configuration: configuration)
    }

    func test(_ body: @Sendable (Client) async throws -> Void) async throws {
        let app = Application(router: server.router())
        try await app.test(.router) { client in try await body(Client(inner: client)) }
        try await server.shutdown()
        store.engine.close()
    }
}

/// Sends JSON and reads JSON back, as the MLflow client does.
struct Client: Sendable {
    let inner: any TestClientProtocol

    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let body: ByteBuffer
        var text: String { String(buffer: body) }
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(buffer: body), options: [.fragmentsAllowed]) as? [String: Any])
                ?? [:]
        }
        var errorCode: String? { json["error_code"] as? String }
    }

    @discardableResult
    func post(_ path: String, _ body: String, headers: HTTPFields = [:]) async throws -> Answer {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await inner.execute(
            uri: "/api/2.0/mlflow/" + path, method: .post, headers: headers, body: ByteBuffer(string: body)
        ) { Answer(status: $0.status, body: $0.body) }
    }

    @discardableResult
    func post(_ path: String, _ object: [String: Any]) async throws -> Answer {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await post(path, String(decoding: data, as: UTF8.self))
    }

    /// A request of any method with a JSON body, as the client sends PATCH and DELETE.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, _ object: [String: Any] = [:]) async throws -> Answer {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await inner.execute(
            uri: "/api/2.0/mlflow/" + path, method: method, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: data)
        ) { Answer(status: $0.status, body: $0.body) }
    }

    @discardableResult
    func get(_ path: String, headers: HTTPFields = [:]) async throws -> Answer {
        try await inner.execute(
            uri: path.hasPrefix("/") ? path : "/api/2.0/mlflow/" + path, method: .get, headers: headers
        ) {
            Answer(status: $0.status, body: $0.body)
        }
    }

    @discardableResult
    func put(_ path: String, _ bytes: [UInt8]) async throws -> Answer {
        try await inner.execute(
            uri: "/api/2.0/mlflow-artifacts/artifacts/" + path, method: .put, headers: [.contentType: "text/plain"],
            body: ByteBuffer(bytes: bytes)
        ) { Answer(status: $0.status, body: $0.body) }
    }

    /// Creates an experiment and a run in it; returns (experiment id, run id).
    func makeRun(_ experiment: String = "exp", name: String? = "r1") async throws -> (String, String) {
        let created = try await post("experiments/create", ["name": experiment])
        let experimentID = try #require(created.json["experiment_id"] as? String)
        var body: [String: Any] = ["experiment_id": experimentID, "start_time": 1_700_000_000_000]
        if let name { body["run_name"] = name }
        let run = try await post("runs/create", body)
        let info = try #require((run.json["run"] as? [String: Any])?["info"] as? [String: Any])
        return (experimentID, try #require(info["run_id"] as? String))
    }
}

extension Client.Answer {
    var run: [String: Any] { json["run"] as? [String: Any] ?? [:] }
    var info: [String: Any] { run["info"] as? [String: Any] ?? [:] }
    var data: [String: Any] { run["data"] as? [String: Any] ?? [:] }
    func pairs(_ field: String) -> [String: String] {
        var result: [String: String] = [:]
        for item in data[field] as? [[String: Any]] ?? [] { result[item["key"] as! String] = item["value"] as? String }
        return result
    }
}
