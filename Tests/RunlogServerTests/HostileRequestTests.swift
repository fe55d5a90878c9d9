import Foundation
import HTTPTypes
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
                (
                    "runs/log-parameter",
                    "{\"run_id\":\"\(run)\",\"key\":\"p\",\"value\":\"\(String(repeating: "v", count: 6001))\"}", "6000"
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
            let unknown = try await client.get("/api/2.0/mlflow/logged-models/abc")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "ENDPOINT_NOT_FOUND")
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
