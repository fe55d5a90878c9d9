import Foundation
import Runlog
import RunlogStore
import Testing

@Suite struct RunEndpointTests {
    @Test func createNamesRunsAndReportsThemInMLflowShape() async throws {
        try await ServerHarness().test { client in
            let created = try await client.post(
                "runs/create", ["experiment_id": "0", "user_id": "ada", "start_time": 1_700_000_000_000])
            #expect(created.status == .ok)
            let name = try #require(created.info["run_name"] as? String)
            #expect(!name.isEmpty)
            #expect(created.pairs("tags")["mlflow.runName"] == name)
            #expect(created.info["status"] as? String == "RUNNING")
            #expect(created.info["start_time"] as? Int == 1_700_000_000_000)
            #expect(created.info["end_time"] == nil)
            #expect(created.info["user_id"] as? String == "ada")
            let id = try #require(created.info["run_id"] as? String)
            #expect(id.count == 32)
            #expect(created.info["run_uuid"] as? String == id)
            #expect(created.info["artifact_uri"] as? String == "mlflow-artifacts:/0/\(id)/artifacts")
            #expect(created.info["lifecycle_stage"] as? String == "active")
            #expect(
                try await client.post("runs/create", ["experiment_id": "nope"]).errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func paramsTagsMetricsAndStatus() async throws {
        try await ServerHarness().test { client in
            let (_, run) = try await client.makeRun()
            #expect(
                try await client.post(
                    "runs/log-parameter", ["run_id": run, "run_uuid": run, "key": "lr", "value": "0.01"]
                ).status == .ok)
            #expect(
                try await client.post("runs/log-parameter", ["run_id": run, "key": "lr", "value": "0.01"]).status == .ok
            )
            let changed = try await client.post("runs/log-parameter", ["run_id": run, "key": "lr", "value": "0.02"])
            #expect(changed.status == .badRequest)
            #expect(changed.errorCode == "INVALID_PARAMETER_VALUE")
            try await client.post("runs/set-tag", ["run_id": run, "key": "team", "value": "ml"])
            try await client.post("runs/set-tag", ["run_id": run, "key": "gone", "value": "x"])
            #expect(try await client.post("runs/delete-tag", ["run_id": run, "key": "gone"]).status == .ok)
            #expect(
                try await client.post("runs/delete-tag", ["run_id": run, "key": "gone"]).errorCode
                    == "RESOURCE_DOES_NOT_EXIST")
            for step in 0..<5 {
                try await client.post(
                    "runs/log-metric",
                    [
                        "run_id": run, "key": "loss", "value": 1.0 / Double(step + 1), "timestamp": 1000 + step,
                        "step": step,
                    ])
            }
            // Out of order, as the async client sends them: the latest is the greatest step.
            try await client.post(
                "runs/log-batch",
                [
                    "run_id": run,
                    "metrics": [
                        ["key": "acc", "value": 0.9, "timestamp": 5, "step": 4],
                        ["key": "acc", "value": 0.5, "timestamp": 9, "step": 1],
                    ],
                    "params": [["key": "batch", "value": "32"]], "tags": [["key": "phase", "value": "train"]],
                ])
            let got = try await client.get("runs/get?run_uuid=\(run)&run_id=\(run)")
            #expect(got.pairs("params") == ["lr": "0.01", "batch": "32"])
            #expect(got.pairs("tags")["team"] == "ml")
            #expect(got.pairs("tags")["gone"] == nil)
            #expect(got.pairs("tags")["phase"] == "train")
            let metrics = got.data["metrics"] as? [[String: Any]] ?? []
            #expect(metrics.count == 2)
            #expect(metrics.first { $0["key"] as? String == "acc" }?["value"] as? Double == 0.9)
            #expect(metrics.first { $0["key"] as? String == "loss" }?["step"] as? Int == 4)

            let updated = try await client.post(
                "runs/update",
                ["run_id": run, "status": "FINISHED", "end_time": 1_700_000_009_000, "run_name": "renamed"])
            let info = try #require(updated.json["run_info"] as? [String: Any])
            #expect(info["status"] as? String == "FINISHED")
            #expect(info["end_time"] as? Int == 1_700_000_009_000)
            #expect(info["run_name"] as? String == "renamed")
            #expect(try await client.get("runs/get?run_id=\(run)").pairs("tags")["mlflow.runName"] == "renamed")
            #expect(
                try await client.post("runs/update", ["run_id": run, "status": "running"]).errorCode
                    == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test func searchTakesTheWholeGrammarOrderAndPages() async throws {
        try await ServerHarness().test { client in
            let created = try await client.post("experiments/create", ["name": "sweep"])
            let experiment = try #require(created.json["experiment_id"] as? String)
            var ids: [String] = []
            for (i, lr) in ["0.1", "0.01", "0.001"].enumerated() {
                let run = try await client.post(
                    "runs/create", ["experiment_id": experiment, "run_name": "lr=\(lr)", "start_time": 1000 + i])
                let id = try #require(run.info["run_id"] as? String)
                ids.append(id)
                try await client.post(
                    "runs/log-batch",
                    [
                        "run_id": id, "params": [["key": "lr", "value": lr]],
                        "metrics": [["key": "loss", "value": Double(i) * 0.3, "timestamp": 1, "step": 0]],
                    ])
            }
            func search(_ body: [String: Any]) async throws -> [String] {
                var body = body
                body["experiment_ids"] = [experiment]
                let answer = try await client.post("runs/search", body)
                #expect(answer.status == .ok, "\(answer.text)")
                return (answer.json["runs"] as? [[String: Any]] ?? []).compactMap {
                    ($0["info"] as? [String: Any])?["run_name"] as? String
                }
            }
            #expect(
                try await search(["filter": "metrics.loss < 0.5", "order_by": ["metrics.loss DESC"]]) == [
                    "lr=0.01", "lr=0.1",
                ])
            #expect(
                try await search(["filter": "params.lr IN ('0.1', '0.001') or metrics.loss.min > 10"]) == [
                    "lr=0.001", "lr=0.1",
                ])
            #expect(try await search([:]) == ["lr=0.001", "lr=0.01", "lr=0.1"])
            let page = try await client.post("runs/search", ["experiment_ids": [experiment], "max_results": 2])
            let token = try #require(page.json["next_page_token"] as? String)
            #expect(try await search(["max_results": 2, "page_token": token]) == ["lr=0.1"])
            let bad = try await client.post(
                "runs/search", ["experiment_ids": [experiment], "filter": "metrics.loss <"])
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(
                try await client.post("runs/search", ["max_results": 50_001]).errorCode == "INVALID_PARAMETER_VALUE")

            #expect(try await client.post("runs/delete", ["run_id": ids[0]]).status == .ok)
            #expect(try await search([:]) == ["lr=0.001", "lr=0.01"])
            #expect(try await search(["run_view_type": "DELETED_ONLY"]) == ["lr=0.1"])
            #expect(try await search(["run_view_type": "ALL"]).count == 3)
            let deletedWrite = try await client.post(
                "runs/log-parameter", ["run_id": ids[0], "key": "x", "value": "1"])
            #expect(deletedWrite.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await client.post("runs/restore", ["run_id": ids[0]]).status == .ok)
            #expect(try await search([:]).count == 3)
        }
    }

    @Test func inputsAreReproducibilityRecords() async throws {
        let harness = try ServerHarness()
        let store = harness.store
        try await harness.test { client in
            let (_, run) = try await client.makeRun()
            let answer = try await client.post(
                "runs/log-inputs",
                [
                    "run_id": run,
                    "datasets": [
                        [
                            "tags": [["key": "mlflow.data.context", "value": "training"]],
                            "dataset": [
                                "name": "toy", "digest": "a9e1afcf", "source_type": "local",
                                "source": "{\"uri\": \"file:///data/toy.npy\"}", "profile": "{}",
                            ],
                        ]
                    ],
                ])
            #expect(answer.status == .ok, "\(answer.text)")
            let got = try await client.get("runs/get?run_id=\(run)")
            let inputs = (got.run["inputs"] as? [String: Any])?["dataset_inputs"] as? [[String: Any]] ?? []
            #expect(inputs.count == 1)
            let dataset = inputs.first?["dataset"] as? [String: Any]
            #expect(dataset?["digest"] as? String == "a9e1afcf")
            #expect(dataset?["source"] as? String == "{\"uri\": \"file:///data/toy.npy\"}")
            #expect(
                (inputs.first?["tags"] as? [[String: String]]) == [["key": "mlflow.data.context", "value": "training"]])
            let info = try store.run(try #require(RunID(run)))
            #expect(info.inputs["dataset:toy"]?.contains("a9e1afcf") == true)
        }
    }

    @Test func idleWritersCloseAndReopen() async throws {
        let harness = try ServerHarness()
        let server = harness.server
        try await harness.test { client in
            var runs: [String] = []
            for i in 0..<20 { runs.append(try await client.makeRun("e\(i)").1) }
            #expect(server.openWriters == 20)
            #expect(server.closeIdleWriters(.zero) == 20)
            #expect(server.openWriters == 0)
            let answer = try await client.post(
                "runs/log-batch",
                ["run_id": runs[3], "metrics": [["key": "m", "value": 1.5, "timestamp": 1, "step": 7]]])
            #expect(answer.status == .ok)
            #expect(server.openWriters == 1)
            let history = try await client.get("metrics/get-history?run_id=\(runs[3])&metric_key=m")
            #expect((history.json["metrics"] as? [[String: Any]])?.first?["step"] as? Int == 7)
        }
    }

    @Test func atMostMaxOpenWritersStayOpen() async throws {
        let harness = try ServerHarness(maxOpenWriters: 5)
        let server = harness.server
        try await harness.test { client in
            var runs: [String] = []
            for i in 0..<20 {
                runs.append(try await client.makeRun("e\(i)").1)
                #expect(server.openWriters <= 5)
            }
            for run in runs {
                let answer = try await client.post(
                    "runs/log-batch",
                    ["run_id": run, "metrics": [["key": "m", "value": 2.5, "timestamp": 1, "step": 1]]])
                #expect(answer.status == .ok)
                #expect(server.openWriters <= 5)
            }
            for run in runs {
                let history = try await client.get("metrics/get-history?run_id=\(run)&metric_key=m")
                #expect((history.json["metrics"] as? [[String: Any]])?.count == 1)
            }
        }
    }

    @Test func aRunAnotherWriterHoldsIsReadableButNotWritable() async throws {
        let harness = try ServerHarness()
        let other = try TrackingStore.open(at: harness.directory.store)
        let run = try other.startRun(in: try other.experiment(named: "held"), name: "held", captureEnvironment: false)
        try run.log("loss", 0.5, step: 1)
        try await run.flush()
        try await harness.test { client in
            let got = try await client.get("runs/get?run_id=\(run.id)")
            #expect(got.status == .ok)
            #expect(got.info["run_name"] as? String == "held")
            let write = try await client.post("runs/set-tag", ["run_id": run.id.description, "key": "k", "value": "v"])
            #expect(write.status == .badRequest)
            #expect(write.errorCode == "INVALID_STATE")
            #expect((write.json["message"] as? String)?.contains("being written by process") == true, "\(write.text)")
        }
        try await run.finish()
        other.engine.close()
    }
}
