import Foundation
import Runlog
import RunlogReliability
import RunlogStore
import Testing

@Suite struct MetricEndpointTests {
    @Test func nonFiniteAndExtremeValuesRoundTripBitExactly() async throws {
        try await ServerHarness().test { client in
            let (_, run) = try await client.makeRun()
            let body = """
                {"run_id":"\(run)","metrics":[
                {"key":"v","value":"NaN","timestamp":1,"step":0},
                {"key":"v","value":"Infinity","timestamp":1,"step":1},
                {"key":"v","value":"-Infinity","timestamp":1,"step":2},
                {"key":"v","value":0.30000000000000004,"timestamp":1,"step":3},
                {"key":"v","value":5e-324,"timestamp":1,"step":4},
                {"key":"v","value":1.7976931348623157e308,"timestamp":9223372036854775807,"step":-9223372036854775808}]}
                """
            #expect(try await client.post("runs/log-batch", body).status == .ok)
            let history = try await client.get("metrics/get-history?run_id=\(run)&metric_key=v")
            let text = history.text
            #expect(text.contains("\"value\":\"NaN\""))
            #expect(text.contains("\"value\":\"Infinity\""))
            #expect(text.contains("\"value\":\"-Infinity\""))
            #expect(text.contains("0.30000000000000004"))
            #expect(text.contains("5e-324"))
            #expect(text.contains("1.7976931348623157e+308") || text.contains("1.7976931348623157e308"))
            #expect(text.contains("9223372036854775807"))
            #expect(text.contains("-9223372036854775808"))
            let points = history.json["metrics"] as? [[String: Any]] ?? []
            #expect(points.map { $0["step"] as? Int } == [Int.min, 0, 1, 2, 3, 4])
        }
    }

    @Test func historyPagesThroughTokens() async throws {
        try await ServerHarness().test { client in
            let (_, run) = try await client.makeRun()
            for batch in 0..<3 {
                let metrics = (0..<1000).map {
                    ["key": "loss", "value": Double($0), "timestamp": 1, "step": batch * 1000 + $0]
                }
                try await client.post("runs/log-batch", ["run_id": run, "metrics": metrics])
            }
            var steps: [Int] = []
            var token: String?
            var pages = 0
            repeat {
                let query =
                    "metrics/get-history?run_id=\(run)&metric_key=loss&max_results=1200"
                    + (token.map { "&page_token=\($0)" } ?? "")
                let page = try await client.get(query)
                steps += (page.json["metrics"] as? [[String: Any]] ?? []).compactMap { $0["step"] as? Int }
                token = page.json["next_page_token"] as? String
                pages += 1
            } while token != nil && pages < 10
            #expect(pages == 3)
            #expect(steps == Array(0..<3000))
            #expect(
                try await client.get("metrics/get-history?run_id=\(run)&metric_key=loss&page_token=zz").errorCode
                    == "INVALID_PARAMETER_VALUE")
            let none = try await client.get("metrics/get-history?run_id=\(run)&metric_key=nothing")
            #expect((none.json["metrics"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func bulkIntervalKeepsASpikeThatEvenSamplingDrops() async throws {
        try await ServerHarness().test { client in
            let (_, a) = try await client.makeRun("a")
            let (_, b) = try await client.makeRun("b")
            for run in [a, b] {
                for batch in 0..<10 {
                    let metrics = (0..<1000).map { i -> [String: Any] in
                        let step = batch * 1000 + i
                        return ["key": "loss", "value": step == 4321 ? 99.0 : 1.0, "timestamp": 1, "step": step]
                    }
                    try await client.post("runs/log-batch", ["run_id": run, "metrics": metrics])
                }
            }
            let answer = try await client.get(
                "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=\(a)&run_ids=\(b)&metric_key=loss&max_results=100"
            )
            #expect(answer.status == .ok, "\(answer.text)")
            let points = answer.json["metrics"] as? [[String: Any]] ?? []
            for run in [a, b] {
                let mine = points.filter { $0["run_id"] as? String == run }
                #expect(mine.count <= 100)
                #expect(mine.contains { $0["step"] as? Int == 4321 && $0["value"] as? Double == 99 })
                #expect(mine.first?["step"] as? Int == 0)
                #expect(mine.last?["step"] as? Int == 9999)
            }
            let ranged = try await client.get(
                "metrics/get-history-bulk-interval?run_ids=\(a)&metric_key=loss&start_step=10&end_step=20&max_results=100"
            )
            #expect((ranged.json["metrics"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == Array(10...20))
            let bulk = try await client.get(
                "metrics/get-history-bulk?run_id=\(a)&run_id=\(b)&metric_key=loss&max_results=15000")
            #expect((bulk.json["metrics"] as? [Any])?.count == 15000)
            let tooMany = (0..<101).map { "run_ids=\(String(repeating: "a", count: 31))\($0 % 10)" }.joined(
                separator: "&")
            #expect(
                try await client.get("metrics/get-history-bulk-interval?\(tooMany)&metric_key=loss").errorCode
                    == "INVALID_PARAMETER_VALUE")
        }
    }
}

@Suite struct ArtifactEndpointTests {
    @Test func uploadListDownload() async throws {
        let harness = try ServerHarness()
        let store = harness.store
        try await harness.test { client in
            let (experiment, run) = try await client.makeRun()
            let root = "\(experiment)/\(run)/artifacts"
            #expect(try await client.put("\(root)/notes.txt", Array("hello".utf8)).status == .ok)
            let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            #expect(try await client.put("\(root)/cfg/model.bin", big).status == .ok)
            let listed = try await client.get("/api/2.0/mlflow-artifacts/artifacts?path=\(root)")
            let files = listed.json["files"] as? [[String: Any]] ?? []
            #expect(files.map { $0["path"] as? String } == ["cfg", "notes.txt"])
            #expect(files.map { $0["is_dir"] as? Bool } == [true, false])
            #expect(files.last?["file_size"] as? Int == 5)
            let sub = try await client.get("/api/2.0/mlflow-artifacts/artifacts?path=\(root)/cfg")
            #expect((sub.json["files"] as? [[String: Any]])?.first?["path"] as? String == "model.bin")
            let tracking = try await client.get("artifacts/list?run_id=\(run)&path=cfg")
            #expect((tracking.json["files"] as? [[String: Any]])?.first?["path"] as? String == "cfg/model.bin")
            let download = try await client.get("/api/2.0/mlflow-artifacts/artifacts/\(root)/cfg/model.bin")
            #expect(download.status == .ok)
            #expect(Array(download.body.readableBytesView) == big)
            let info = try store.run(try #require(RunID(run)))
            #expect(info.artifacts["cfg/model.bin"]?.size == 300_000)
            #expect(
                info.artifacts["notes.txt"]?.sha256
                    == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
            #expect(try await client.get("/api/2.0/mlflow-artifacts/artifacts/\(root)/missing").status == .notFound)
        }
    }

    @Test func gcRemovesADeletedRunsArtifacts() async throws {
        let harness = try ServerHarness()
        let store = harness.store
        let server = harness.server
        try await harness.test { client in
            let (experiment, run) = try await client.makeRun()
            #expect(try await client.put("\(experiment)/\(run)/artifacts/a/b.txt", Array("x".utf8)).status == .ok)
            let id = try #require(RunID(run))
            #expect(FileManager.default.fileExists(atPath: store.artifactDirectory(of: id) + "/a/b.txt"))
            #expect(try await client.post("runs/delete", ["run_id": run]).status == .ok)
            server.closeIdleWriters(.zero)
            let collected = try store.gc()
            #expect(collected.removedRuns == [id])
            #expect(!FileManager.default.fileExists(atPath: store.artifactDirectory(of: id)))
        }
    }

    @Test(arguments: ["../../etc/passwd", "a/../../x", "%2e%2e/x", "a%2F..%2F..%2Fx", "a%00b", "./x", "a//b"])
    func pathTricksAreRefusedAndWriteNothing(_ trick: String) async throws {
        let harness = try ServerHarness()
        let store = harness.store
        try await harness.test { client in
            let (experiment, run) = try await client.makeRun()
            let answer = try await client.put("\(experiment)/\(run)/artifacts/\(trick)", Array("x".utf8))
            #expect(answer.status == .badRequest || answer.status == .notFound, "\(trick): \(answer.text)")
            #expect(answer.errorCode != nil)
            #expect(try store.run(try #require(RunID(run))).artifacts.isEmpty)
        }
    }
}

/// A damaged run through the REST API and the UI: histories are refused with DATA_LOSS (422, so
/// the client does not retry), `allow_damaged=true` reads what is left, and the run carries a
/// `runlog.damage` tag and the UI's notice.
@Suite struct DamagedRunEndpointTests {
    @Test func historiesOfADamagedRunAreRefusedUnlessAllowed() async throws {
        nonisolated(unsafe) var damaged: (run: RunID, segment: String)?
        let harness = try ServerHarness { damaged = try DamagedRun.make(at: $0, keepSnapshot: false) }
        let (run, segment) = try #require(damaged)
        let file = String(segment.split(separator: "/").last!)
        let experiment = try harness.store.run(run).experimentID
        try await harness.test { client in
            for path in [
                "metrics/get-history?run_id=\(run)&metric_key=loss",
                "metrics/get-history-bulk?run_id=\(run)&metric_key=loss",
                "metrics/get-history-bulk-interval?run_ids=\(run)&metric_key=loss",
            ] {
                let refused = try await client.get(path)
                #expect(refused.status == .unprocessableContent, "\(path)")
                #expect(refused.errorCode == "DATA_LOSS", "\(path)")
                #expect((refused.json["message"] as? String)?.contains(file) == true, "\(path)")
                let allowed = try await client.get(path + "&allow_damaged=true")
                #expect(allowed.status == .ok, "\(path)")
                let points = (allowed.json["metrics"] as? [[String: Any]])?.count ?? 0
                #expect(points > 0 && points < 20_000, "\(path): \(points)")
            }
            #expect(
                try await client.get("metrics/get-history?run_id=\(run)&metric_key=loss&allow_damaged=maybe").status
                    == .badRequest)
            let got = try await client.get("runs/get?run_id=\(run)")
            let tags = ((got.json["run"] as? [String: Any])?["data"] as? [String: Any])?["tags"] as? [[String: String]]
            let damage = tags?.first { $0["key"] == "runlog.damage" }?["value"]
            #expect(damage?.contains(file) == true && damage?.contains("offset") == true, "\(got.text)")
            let page = try await client.get("/runs/\(run)")
            #expect(page.status == .ok)
            #expect(page.text.contains("class=\"damage\"") && page.text.contains(file))
            let table = try await client.get("/experiments/\(experiment)")
            #expect(table.text.contains(">damaged</span>"))
        }
    }
}
