import Foundation
import HTTPTypes
import NIOCore
import Testing

/// MLflow 3's logged models and the model registry over REST: each endpoint's success and error
/// shapes, as a real `mlflow server` 3.17.2 answers them (checked side by side while writing).
@Suite struct ModelEndpointTests {
    @Test func aLoggedModelLivesFromCreateToDelete() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun()
            try await client.post(
                "runs/log-metric", ["run_id": run, "key": "acc", "value": 0.5, "timestamp": 7, "step": 0])
            let created = try await client.post(
                "logged-models",
                [
                    "experiment_id": experiment, "name": "model", "source_run_id": run,
                    "params": [["key": "C", "value": "1.0"]], "tags": [["key": "team", "value": "ml"]],
                ])
            #expect(created.status == .ok)
            let info = try #require((created.json["model"] as? [String: Any])?["info"] as? [String: Any])
            let id = try #require(info["model_id"] as? String)
            #expect(id.hasPrefix("m-") && id.count == 34)
            #expect(info["status"] as? String == "LOGGED_MODEL_PENDING")
            #expect(info["artifact_uri"] as? String == "mlflow-artifacts:/\(experiment)/models/\(id)/artifacts")
            #expect(info["source_run_id"] as? String == run)

            // Files go through the artifact proxy, under the model's own root.
            let put = try await client.put(
                "\(experiment)/models/\(id)/artifacts/sub%20dir/MLmodel", Array("flavors: {}".utf8))
            #expect(put.status == .ok)
            let listing = try await client.get("logged-models/\(id)/artifacts/directories")
            #expect(listing.json["root_uri"] as? String == "mlflow-artifacts:/\(experiment)/models/\(id)/artifacts")
            #expect((listing.json["files"] as? [[String: Any]])?.first?["path"] as? String == "sub dir")
            let nested = try await client.get(
                "/api/2.0/mlflow-artifacts/artifacts?path=\(experiment)%2Fmodels%2F\(id)%2Fartifacts%2Fsub+dir")
            #expect((nested.json["files"] as? [[String: Any]])?.first?["file_size"] as? Int == 11)
            let file = try await client.get(
                "/api/2.0/mlflow-artifacts/artifacts/\(experiment)/models/\(id)/artifacts/sub%20dir/MLmodel")
            #expect(file.text == "flavors: {}")

            // The run's points sent again with the model's id link to it without doubling the run's history.
            try await client.post(
                "runs/log-batch",
                ["run_id": run, "metrics": [["key": "acc", "value": 0.5, "timestamp": 7, "step": 0, "model_id": id]]])
            let history = try await client.get("metrics/get-history?run_id=\(run)&metric_key=acc")
            #expect((history.json["metrics"] as? [Any])?.count == 1)
            try await client.post("runs/outputs", ["run_id": run, "models": [["model_id": id, "step": 0]]])
            let outputs = (try await client.get("runs/get?run_id=\(run)").run["outputs"] as? [String: Any])?[
                "model_outputs"]
            #expect((outputs as? [[String: Any]])?.first?["model_id"] as? String == id)

            let ready = try await client.send(
                .patch, "logged-models/\(id)", ["model_id": id, "status": "LOGGED_MODEL_READY"])
            #expect(
                ((ready.json["model"] as? [String: Any])?["info"] as? [String: Any])?["status"] as? String
                    == "LOGGED_MODEL_READY")
            try await client.send(.patch, "logged-models/\(id)/tags", ["tags": [["key": "stage", "value": "x y"]]])
            try await client.post("logged-models/\(id)/params", ["params": [["key": "depth", "value": "3"]]])
            let got = try await client.get("logged-models/\(id)")
            let model = try #require(got.json["model"] as? [String: Any])
            let tags = ((model["info"] as? [String: Any])?["tags"] as? [[String: String]])?.map { $0["key"]! }
            #expect(tags == ["stage", "team"])
            #expect(((model["data"] as? [String: Any])?["params"] as? [[String: String]])?.count == 2)
            #expect(
                ((model["data"] as? [String: Any])?["metrics"] as? [[String: Any]])?.first?["run_id"] as? String == run)

            let found = try await client.post(
                "logged-models/search",
                ["experiment_ids": [experiment], "filter": "name = 'model' AND params.C = '1.0'"])
            #expect((found.json["models"] as? [Any])?.count == 1)
            let none = try await client.post(
                "logged-models/search", ["experiment_ids": [experiment], "filter": "tags.`stage` = 'other'"])
            #expect((none.json["models"] as? [Any])?.isEmpty ?? true)

            try await client.send(.delete, "logged-models/\(id)/tags/stage")
            #expect(
                try await client.send(.delete, "logged-models/\(id)/tags/stage").errorCode == "RESOURCE_DOES_NOT_EXIST")
            try await client.send(.delete, "logged-models/\(id)")
            let gone = try await client.get("logged-models/\(id)")
            #expect(gone.status == .notFound)
            #expect(gone.json["message"] as? String == "Logged model with ID '\(id)' not found.")
            #expect(try await client.get("logged-models/\(id)?allow_deleted=true").status == .ok)
        }
    }

    @Test func loggedModelErrorsAreMLflows() async throws {
        try await ServerHarness().test { client in
            let missing = try await client.post("logged-models", [:])
            #expect(missing.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(
                missing.json["message"] as? String
                    == "Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters."
            )
            let unknown = try await client.post("logged-models", ["experiment_id": "99"])
            #expect(unknown.status == .notFound)
            #expect(unknown.json["message"] as? String == "No Experiment with id=99 exists")
            #expect(try await client.post("runs/outputs", ["run_id": "nope", "models": []]).status == .notFound)
            #expect(try await client.post("logged-models/search", [:]).errorCode == "INVALID_PARAMETER_VALUE")
            let badFilter = try await client.post(
                "logged-models/search", ["experiment_ids": ["0"], "filter": "name ="])
            #expect(badFilter.errorCode == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test func theRegistryKeepsNamesVersionsAliasesAndStages() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun()
            let model = try await client.post("logged-models", ["experiment_id": experiment, "source_run_id": run])
            let id = try #require(
                ((model.json["model"] as? [String: Any])?["info"] as? [String: Any])?["model_id"] as? String)
            #expect(try await client.post("registered-models/create", ["name": "churn model"]).status == .ok)
            let duplicate = try await client.post("registered-models/create", ["name": "churn model"])
            #expect(duplicate.errorCode == "RESOURCE_ALREADY_EXISTS")
            #expect(duplicate.json["message"] as? String == "Registered Model (name=churn model) already exists.")

            let first = try await client.post(
                "model-versions/create", ["name": "churn model", "source": "models:/\(id)", "model_id": id])
            let version = try #require(first.json["model_version"] as? [String: Any])
            #expect(version["version"] as? String == "1")
            #expect(version["run_id"] as? String == run)
            #expect(version["current_stage"] as? String == "None")
            let second = try await client.post(
                "model-versions/create", ["name": "churn model", "source": "runs:/\(run)/model", "run_id": run])
            #expect((second.json["model_version"] as? [String: Any])?["version"] as? String == "2")
            let badSource = try await client.post(
                "model-versions/create", ["name": "churn model", "source": "runs:/\(run)/model", "run_id": "other"])
            #expect(badSource.errorCode == "INVALID_PARAMETER_VALUE")
            for source in ["/tmp/model", "file:///tmp/model", "s3://bucket/a/../../b", "s3://bucket/%252e%252e/b"] {
                let refused = try await client.post("model-versions/create", ["name": "churn model", "source": source])
                #expect(
                    (refused.json["message"] as? String)?.hasPrefix("Invalid model version source: '\(source)'.")
                        == true,
                    "\(source): \(refused.text)")
            }

            // Aliases: set, read back (with a + for the space), reserved names refused.
            try await client.post(
                "registered-models/alias", ["name": "churn model", "alias": "champion", "version": "1"])
            let byAlias = try await client.get("registered-models/alias?name=churn+model&alias=champion")
            #expect((byAlias.json["model_version"] as? [String: Any])?["aliases"] as? [String] == ["champion"])
            let reserved = try await client.post(
                "registered-models/alias", ["name": "churn model", "alias": "v1", "version": "1"])
            #expect(reserved.json["message"] as? String == "Version alias name 'v1' is reserved.")
            let noVersion = try await client.post(
                "registered-models/alias", ["name": "churn model", "alias": "a", "version": "9"])
            #expect(noVersion.json["message"] as? String == "Model Version (name=churn model, version=9) not found")

            let staged = try await client.post(
                "model-versions/transition-stage",
                ["name": "churn model", "version": "2", "stage": "production", "archive_existing_versions": true])
            #expect((staged.json["model_version"] as? [String: Any])?["current_stage"] as? String == "Production")
            let badStage = try await client.post(
                "model-versions/transition-stage", ["name": "churn model", "version": "2", "stage": "bogus"])
            #expect(
                badStage.json["message"] as? String
                    == "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.")
            let latest = try await client.get(
                "registered-models/get-latest-versions?name=churn+model&stages=Production")
            #expect((latest.json["model_versions"] as? [[String: Any]])?.map { $0["version"] as? String } == ["2"])

            let uri = try await client.get("model-versions/get-download-uri?name=churn%20model&version=1")
            #expect(uri.json["artifact_uri"] as? String == "mlflow-artifacts:/\(experiment)/models/\(id)/artifacts")
            let runURI = try await client.get("model-versions/get-download-uri?name=churn+model&version=2")
            #expect(runURI.json["artifact_uri"] as? String == "mlflow-artifacts:/\(experiment)/\(run)/artifacts/model")

            try await client.post("registered-models/set-tag", ["name": "churn model", "key": "team", "value": "risk"])
            try await client.send(.patch, "registered-models/update", ["name": "churn model", "description": "d"])
            let registered = try await client.get("registered-models/get?name=churn+model")
            let body = try #require(registered.json["registered_model"] as? [String: Any])
            #expect(body["description"] as? String == "d")
            #expect((body["aliases"] as? [[String: String]]) == [["alias": "champion", "version": "1"]])
            #expect((body["latest_versions"] as? [Any])?.count == 2)

            try await client.post("registered-models/create", ["name": "other"])
            let searched = try await client.get("registered-models/search?filter=name+LIKE+%27ch%25%27")
            #expect(
                (searched.json["registered_models"] as? [[String: Any]])?.map { $0["name"] as? String } == [
                    "churn model"
                ])
            let ordered = try await client.get("registered-models/search?order_by=name+DESC&max_results=1")
            #expect((ordered.json["registered_models"] as? [[String: Any]])?.first?["name"] as? String == "other")
            let token = try #require(ordered.json["next_page_token"] as? String)
            let next = try await client.get(
                "registered-models/search?order_by=name+DESC&max_results=1&page_token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            )
            #expect((next.json["registered_models"] as? [[String: Any]])?.first?["name"] as? String == "churn model")
            let versions = try await client.get("model-versions/search?filter=name%3D%27churn+model%27")
            #expect(
                (versions.json["model_versions"] as? [[String: Any]])?.map { $0["version"] as? String } == ["2", "1"])
            #expect(
                try await client.get("model-versions/get?name=churn+model&version=x").json["message"] as? String
                    == "Parameter 'version' must be an integer, got 'x'.")

            try await client.post("registered-models/rename", ["name": "churn model", "new_name": "churn v2"])
            #expect(try await client.get("registered-models/get?name=churn+model").status == .notFound)
            try await client.send(.delete, "model-versions/delete", ["name": "churn v2", "version": "1"])
            let afterDelete = try await client.get("registered-models/alias?name=churn+v2&alias=champion")
            #expect(afterDelete.json["message"] as? String == "Registered model alias champion not found.")
            try await client.send(.delete, "registered-models/delete", ["name": "churn v2"])
            let missing = try await client.get("registered-models/get?name=churn+v2")
            #expect(missing.json["message"] as? String == "Registered Model with name=churn v2 not found")
        }
    }

    /// What MLflow's own REST test suite checks beyond the client's round trips: a version made from a
    /// logged model lists itself in the model's `mlflow.modelVersions` tag, a run records the models it
    /// used, `log-metric` links a value to a model, and a DELETE without a body is an empty request.
    @Test func versionsRunInputsAndBodilessDeletesAreAsMLflows() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun()
            let model = try await client.post("logged-models", ["experiment_id": experiment, "source_run_id": "123"])
            let id = try #require(
                ((model.json["model"] as? [String: Any])?["info"] as? [String: Any])?["model_id"] as? String)
            try await client.post("registered-models/create", ["name": "m ü"])
            for _ in 0..<2 {
                try await client.post(
                    "model-versions/create", ["name": "m ü", "source": "models:/\(id)", "model_id": id])
            }
            let tags =
                ((try await client.get("logged-models/\(id)").json["model"] as? [String: Any])?["info"]
                as? [String: Any])?["tags"] as? [[String: String]]
            #expect(
                tags?.first { $0["key"] == "mlflow.modelVersions" }?["value"]
                    == #"[{"name": "m \u00fc", "version": 1}, {"name": "m \u00fc", "version": 2}]"#)

            try await client.post("runs/log-inputs", ["run_id": run, "models": [["model_id": id]]])
            let inputs = try await client.get("runs/get?run_id=\(run)").run["inputs"] as? [String: Any]
            #expect((inputs?["model_inputs"] as? [[String: String]]) == [["model_id": id]])

            try await client.post(
                "runs/log-metric",
                [
                    "run_id": run, "key": "auc", "value": 0.5, "timestamp": 3, "step": 1, "model_id": id,
                    "dataset_name": "eval", "dataset_digest": "d1",
                ])
            let metrics =
                ((try await client.get("logged-models/\(id)").json["model"] as? [String: Any])?["data"]
                as? [String: Any])?["metrics"] as? [[String: Any]]
            #expect(metrics?.first?["dataset_name"] as? String == "eval")
            #expect(((try await client.get("runs/get?run_id=\(run)").data["metrics"]) as? [Any])?.count == 1)

            try await client.send(.patch, "logged-models/\(id)/tags", ["tags": [["key": "k", "value": "v"]]])
            let bodiless = try await client.inner.execute(
                uri: "/api/2.0/mlflow/logged-models/\(id)/tags/k", method: .delete, headers: [:], body: nil
            ) { Client.Answer(status: $0.status, body: $0.body) }
            #expect(bodiless.status == .ok)
        }
    }
}

/// The endpoints MLflow's web UI calls beside the REST API, as MLflow's server answers them.
@Suite struct AjaxEndpointTests {
    private func raw(
        _ client: Client, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil
    ) async throws -> Client.Answer {
        try await client.inner.execute(
            uri: uri, method: method, headers: [.contentType: "application/json"],
            body: body.map { ByteBuffer(string: $0) }
        ) { Client.Answer(status: $0.status, body: $0.body) }
    }

    @Test func uploadGetArtifactSearchDatasetsAndPathChecks() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun()
            let upload = "/ajax-api/2.0/mlflow/upload-artifact"
            for (query, message) in [
                ("", "Request must specify run_uuid."), ("?run_uuid=\(run)", "Request must specify path."),
                ("?run_uuid=\(run)&path=..%2Ftest.txt", "Invalid path"),
                ("?run_uuid=\(run)&path=a%23b", "Invalid path"),
                ("?run_uuid=\(run)&path=test.txt", "Request must specify data."),
            ] {
                let answer = try await raw(client, .post, upload + query)
                #expect(answer.status == .badRequest && answer.json["message"] as? String == message, "\(query)")
            }
            #expect(
                try await raw(client, .post, upload + "?run_uuid=\(run)&path=my+dir%2Ftest.txt", "hello world").status
                    == .ok)
            #expect(
                try await raw(client, .get, "/get-artifact?run_uuid=\(run)&path=my+dir%2Ftest.txt").text
                    == "hello world")
            let listing = try await client.get("artifacts/list?run_id=\(run)&path=..%2Fx")
            #expect(listing.json["message"] as? String == "Invalid path")

            try await client.post(
                "runs/log-inputs",
                [
                    "run_id": run,
                    "datasets": [
                        [
                            "tags": [["key": "mlflow.data.context", "value": "training"]],
                            "dataset": ["name": "name1", "digest": "digest1", "source_type": "s", "source": "s"],
                        ]
                    ],
                ])
            let datasets = try await raw(
                client, .post, "/ajax-api/2.0/mlflow/experiments/search-datasets",
                #"{"experiment_ids":["\#(experiment)"]}"#)
            #expect(
                (datasets.json["dataset_summaries"] as? [[String: String]])
                    == [["experiment_id": experiment, "name": "name1", "digest": "digest1", "context": "training"]])
            let none = try await raw(client, .post, "/ajax-api/2.0/mlflow/experiments/search-datasets", "{}")
            #expect(
                none.json["message"] as? String == "SearchDatasets request must specify at least one experiment_id.")

            try await client.post("registered-models/create", ["name": "m"])
            try await client.post(
                "model-versions/create", ["name": "m", "source": "runs:/\(run)/my dir", "run_id": run])
            let versionFile = try await raw(client, .get, "/model-versions/get-artifact?name=m&version=1&path=test.txt")
            #expect(versionFile.text == "hello world")
        }
    }
}
