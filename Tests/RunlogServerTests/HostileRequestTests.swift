import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RunlogReliability
import RunlogServer
import RunlogStore
import Testing

@Suite struct HostileRequestTests {
    @Test func malformedBodiesAndWrongTypesAreClearErrors() async throws {
        try await ServerHarness().test { client in
            let (_, run) = try await client.makeRun()
            let cases: [(String, String, String)] = [
                ("runs/log-batch", "{not json", "not valid JSON"),
                ("runs/log-batch", "[1,2]", "JSON object"),
                ("runs/log-metric", "{\"run_id\":\"\(run)\",\"key\":\"m\",\"value\":\"abc\",\"timestamp\":1}", "value"),
                ("runs/log-metric", "{\"run_id\":\"\(run)\",\"key\":\"m\",\"value\":1,\"timestamp\":1.5}", "JSON"),
                ("runs/log-metric", "{\"run_id\":\"\(run)\",\"key\":\"m\",\"value\":1}", "timestamp"),
                (
                    "runs/log-batch",
                    "{\"run_id\":\"\(run)\",\"metrics\":[{\"key\":\"m\",\"value\":\"nan\",\"timestamp\":1}]}", "value"
                ),
                ("runs/log-batch", "{\"run_id\":\"\(run)\",\"params\":{\"a\":\"b\"}}", "params"),
                (
                    "runs/log-batch",
                    "{\"run_id\":\"\(run)\",\"metrics\":[{\"key\":\"../x\",\"value\":1,\"timestamp\":1}]}", ".."
                ),
                ("experiments/create", "{\"name\":\"\"}", "name"),
                ("experiments/create", "{\"name\":12}", "name"),
            ]
            for (path, body, mention) in cases {
                let answer = try await client.post(path, body)
                #expect(answer.status == .badRequest, "\(path) \(body.prefix(80)): \(answer.status)")
                #expect(answer.errorCode == "INVALID_PARAMETER_VALUE", "\(path) \(body.prefix(80)): \(answer.text)")
                #expect(
                    (answer.json["message"] as? String)?.contains(mention) == true, "\(body.prefix(80)): \(answer.text)"
                )
            }
            // Nothing of the refused calls was written.
            let got = try await client.get("runs/get?run_id=\(run)")
            #expect((got.data["metrics"] as? [Any])?.isEmpty == true)
            #expect(got.pairs("params").isEmpty)

            // Longer values are stored cut to MLflow's limits in code points, as MLflow 3.17.2's server
            // stores them; empty values are values.
            let long = String(repeating: "é", count: 6001)
            #expect(
                try await client.post("runs/log-parameter", ["run_id": run, "key": "p", "value": long]).status == .ok)
            try await client.post(
                "runs/log-batch",
                [
                    "run_id": run, "tags": [["key": "t", "value": String(repeating: "x", count: 9000)]],
                    "params": [["key": "empty", "value": ""]],
                ])
            try await client.post("runs/set-tag", ["run_id": run, "key": "blank", "value": ""])
            let stored = try await client.get("runs/get?run_id=\(run)")
            #expect(stored.pairs("params")["p"]?.unicodeScalars.count == 6000)
            #expect(stored.pairs("params")["empty"] == "")
            #expect(stored.pairs("tags")["t"]?.count == 8000)
            #expect(stored.pairs("tags")["blank"] == "")
            #expect(
                try await client.post("runs/log-parameter", ["run_id": run, "key": "q"]).errorCode
                    == "INVALID_PARAMETER_VALUE")
            let typed = try await client.post("runs/log-parameter", #"{"run_id":31,"key":"a","value":"b"}"#)
            #expect(
                typed.json["message"] as? String
                    == "Invalid value 31 for parameter 'run_id' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."
            )
        }
    }

    @Test func batchLimitsAreMLflows() async throws {
        try await ServerHarness().test { client in
            let (_, run) = try await client.makeRun()
            func metrics(_ n: Int) -> [[String: Any]] {
                (0..<n).map { ["key": "k\($0)", "value": 1.0, "timestamp": 1, "step": 0] }
            }
            func pairs(_ n: Int) -> [[String: String]] { (0..<n).map { ["key": "k\($0)", "value": "v"] } }
            #expect(try await client.post("runs/log-batch", ["run_id": run, "metrics": metrics(1000)]).status == .ok)
            let cases: [[String: Any]] = [
                ["run_id": run, "metrics": metrics(1001)],
                ["run_id": run, "params": pairs(101)],
                ["run_id": run, "tags": pairs(101)],
                ["run_id": run, "metrics": metrics(900), "params": pairs(100), "tags": pairs(1)],
                ["run_id": run, "metrics": metrics(100_000)],
            ]
            for body in cases {
                let answer = try await client.post("runs/log-batch", body)
                #expect(answer.errorCode == "INVALID_PARAMETER_VALUE", "\(answer.text.prefix(200))")
                #expect((answer.json["message"] as? String)?.contains("at most") == true)
            }
            let conflict = try await client.post(
                "runs/log-batch",
                ["run_id": run, "params": [["key": "p", "value": "1"], ["key": "p", "value": "2"]]])
            #expect(conflict.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await client.get("runs/get?run_id=\(run)").pairs("params").isEmpty)
        }
    }

    @Test func oversizedBodiesUnknownRoutesAndRunsAnswerInJSON() async throws {
        try await ServerHarness().test { client in
            let huge = "{\"run_id\":\"" + String(repeating: "a", count: 17 << 20) + "\"}"
            let tooLarge = try await client.post("runs/log-batch", huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "INVALID_PARAMETER_VALUE")
            let unknown = try await client.get("/api/2.0/mlflow/no-such-thing/abc")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "ENDPOINT_NOT_FOUND")
            #expect(try await client.get("/api/2.0/mlflow/logged-models/abc").errorCode == "RESOURCE_DOES_NOT_EXIST")
            #expect(try await client.get("/api/3.0/mlflow/server-info").errorCode == "ENDPOINT_NOT_FOUND")
            let noRun = try await client.get("runs/get?run_id=0123456789abcdef0123456789abcdef")
            #expect(noRun.status == .notFound)
            #expect(noRun.errorCode == "RESOURCE_DOES_NOT_EXIST")
            #expect(try await client.get("runs/get?run_id=not-hex").errorCode == "RESOURCE_DOES_NOT_EXIST")
            #expect(try await client.get("runs/get").errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await client.get("/health").text == "OK")
            #expect(try await client.get("/version").text == "3.17.2")
        }
    }

    @Test func aTokenIsRequiredWhenSet() async throws {
        try await ServerHarness(token: "s3cret").test { client in
            let missing = try await client.post("experiments/create", ["name": "x"])
            #expect(missing.status == .unauthorized)
            #expect(missing.errorCode == "UNAUTHENTICATED")
            let wrong = try await client.post(
                "experiments/create", "{\"name\":\"x\"}", headers: [.authorization: "Bearer s3cres"])
            #expect(wrong.status == .unauthorized)
            let right = try await client.post(
                "experiments/create", "{\"name\":\"x\"}", headers: [.authorization: "Bearer s3cret"])
            #expect(right.status == .ok)
            // The refused calls wrote nothing: "x" was created once, by the authorised call.
            let again = try await client.post(
                "experiments/create", "{\"name\":\"x\"}", headers: [.authorization: "Bearer s3cret"])
            #expect(again.errorCode == "RESOURCE_ALREADY_EXISTS")
            #expect(try await client.get("/health").status == .ok)
        }
    }
}

@Suite struct SlowClientTests {
    /// A client that sends a request's head and part of its body, then stalls, holds only its own
    /// connection: other clients are answered meanwhile, and nothing of the stalled body is written.
    @Test func aStalledBodyStallsNoOneElse() async throws {
        let harness = try ServerHarness()
        let store = harness.store
        let app = Application(router: harness.server.router())
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (_, run) = try await Client(inner: client).makeRun()
            let socket = try LoopbackSocket(port: port)
            let body = #"{"run_id":"\#(run)","metrics":[{"key":"stalled","value":1,"timestamp":1,"step":0}]}"#
            try socket.send(
                "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(20))
            let clock = ContinuousClock()
            let started = clock.now
            for step in 0..<20 {
                let answer = try await Client(inner: client).post(
                    "runs/log-batch",
                    ["run_id": run, "metrics": [["key": "m", "value": 1.0, "timestamp": 1, "step": step]]])
                #expect(answer.status == .ok)
            }
            #expect(clock.now - started < .seconds(10), "the other requests were answered while one body stalled")
            socket.close()
            let info = try store.run(try #require(RunID(run)))
            #expect(info.metrics["m"]?.count == 20)
            #expect(info.metrics["stalled"] == nil)
        }
        try await harness.server.shutdown()
        harness.store.engine.close()
    }
}

/// A plain TCP connection to 127.0.0.1, for sending bytes no HTTP client would send.
final class LoopbackSocket {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        // MSG_NOSIGNAL: a peer that died is an error here, not a SIGPIPE for the test process.
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw POSIXError(.EPIPE)
        }
    }

    /// Reads one HTTP response; its status and body, or nil when the connection ends first.
    func receiveResponse() -> (status: Int, body: [UInt8])? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func more() -> Bool {
            let n = Glibc.recv(descriptor, &chunk, chunk.count, 0)
            guard n > 0 else { return false }
            received += chunk[..<n]
            return true
        }
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            guard more() else { return nil }
            headEnd = received.indices.dropLast(3).first { received[$0..<$0 + 4].elementsEqual(separator) }
        }
        let head = String(decoding: received[..<headEnd!], as: UTF8.self).lowercased()
        let lines = head.split(separator: "\r\n")
        guard let statusText = lines.first?.split(separator: " ").dropFirst().first, let status = Int(statusText) else {
            return nil
        }
        let length =
            lines.first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        while received.count < headEnd! + 4 + length {
            guard more() else { return nil }
        }
        return (status, Array(received[(headEnd! + 4)..<(headEnd! + 4 + length)]))
    }

    func close() { Glibc.close(descriptor) }
}

/// The request log, and the trace calls this server answers without keeping traces.
@Suite struct AccessLogAndTraceTests {
    /// One Common Log Format line a request, with status, bytes and time; never a token, a body
    /// or a raw control character.
    @Test func theAccessLogNamesEachRequestAndNothingSecret() async throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let path = directory.path + "/access.log"
        try await ServerHarness(token: "s3cret", accessLog: try AccessLog(path: path)).test { client in
            let headers: HTTPFields = [.authorization: "Bearer s3cret"]
            _ = try await client.get("experiments/get-by-name?experiment_name=a%0Ab\u{1B}[31m", headers: headers)
            _ = try await client.get("/health")
            _ = try await client.get("experiments/get?experiment_id=0", headers: [.authorization: "Bearer wrong"])
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("\"GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=a%0Ab\\x"))
        #expect(lines[0].contains("[31m HTTP/1.1\" 404 "))
        #expect(lines[1].contains("\"GET /health HTTP/1.1\" 200 2 "))
        #expect(lines[2].contains("\" 401 "))
        let text = lines.joined()
        #expect(!text.contains("s3cret") && !text.contains("wrong"))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }

    /// Traces are not kept: a search finds none (the client then returns an empty frame), a trace
    /// named by id does not exist, and creating one stays ENDPOINT_NOT_FOUND (the client warns and drops it).
    @Test func traceCallsFailTheWayTheClientHandles() async throws {
        try await ServerHarness().test { client in
            let search = try await client.inner.execute(
                uri: "/api/3.0/mlflow/traces/search", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"locations":[]}"#)
            ) { Client.Answer(status: $0.status, body: $0.body) }
            #expect(search.status == .ok && (search.json["traces"] as? [Any])?.isEmpty == true)
            #expect(try await client.get("traces?experiment_ids=0").json["traces"] != nil)
            let tag = try await client.send(.patch, "traces/tr-1/tags", ["key": "k", "value": "v"])
            #expect(tag.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let create = try await client.inner.execute(
                uri: "/api/3.0/mlflow/traces", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            ) { Client.Answer(status: $0.status, body: $0.body) }
            #expect(create.errorCode == "ENDPOINT_NOT_FOUND")
        }
    }
}

/// Protocol edges of issue 33 (points 8 and 10): invalid JSON is refused even in members no endpoint
/// reads, HEAD answers, the bearer scheme is case-insensitive, and an artifact is served as a download
/// no browser sniffs or runs.
@Suite struct ProtocolEdgeTests {
    @Test func strictJSONHeadBearerCaseAndArtifactHeaders() async throws {
        try await ServerHarness(token: "s3cret").test { client in
            let auth: HTTPFields = [.authorization: "bearer s3cret", .contentType: "application/json"]
            for body in [
                #"{"name":"x",}"#, #"{"name":"x","a":1e}"#, #"{"name":"x","a":01}"#, #"{"name":"x","a":"\uZZZZ"}"#,
                "{\"name\":\"x\",\"a\":\"\t\"}",
            ] {
                let answer = try await client.inner.execute(
                    uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: auth,
                    body: ByteBuffer(string: body)
                ) { Client.Answer(status: $0.status, body: $0.body) }
                #expect(answer.status == .badRequest && answer.errorCode == "INVALID_PARAMETER_VALUE", "\(body)")
            }
            let named = try await client.get("experiments/get-by-name?experiment_name=x", headers: auth)
            #expect(named.status == .notFound, "nothing was created by a refused body")
            let created = try await client.inner.execute(
                uri: "/api/2.0/mlflow/experiments/create", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"name":"e"}"#)
            ) { Client.Answer(status: $0.status, body: $0.body) }
            let experiment = try #require(created.json["experiment_id"] as? String)
            let run = try await client.inner.execute(
                uri: "/api/2.0/mlflow/runs/create", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"experiment_id":"\#(experiment)"}"#)
            ) { Client.Answer(status: $0.status, body: $0.body) }
            let runID = try #require(run.info["run_id"] as? String)
            let path = "/api/2.0/mlflow-artifacts/artifacts/\(experiment)/\(runID)/artifacts/evil.js"
            _ = try await client.inner.execute(
                uri: path, method: .put, headers: auth, body: ByteBuffer(string: "alert(1)")
            ) { $0.status }
            let headers = try await client.inner.execute(uri: path, method: .get, headers: auth) { $0.headers }
            #expect(headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(headers[.contentDisposition] == "attachment")
            #expect(headers[.contentSecurityPolicy]?.hasPrefix("sandbox") == true)
            for uri in ["/health", "/version", "/api/2.0/mlflow/experiments/get?experiment_id=\(experiment)"] {
                let head = try await client.inner.execute(uri: uri, method: .head, headers: auth) {
                    ($0.status, $0.body.readableBytes)
                }
                #expect(head.0 == .ok && head.1 == 0, "\(uri)")
            }
        }
    }
}
