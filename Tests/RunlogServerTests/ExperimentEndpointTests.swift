import Foundation
import Testing

@Suite struct ExperimentEndpointTests {
    @Test func defaultExperimentAlwaysExists() async throws {
        try await ServerHarness().test { client in
            let answer = try await client.get("experiments/get?experiment_id=0")
            #expect(answer.status == .ok)
            let experiment = try #require(answer.json["experiment"] as? [String: Any])
            #expect(experiment["name"] as? String == "Default")
            #expect(experiment["lifecycle_stage"] as? String == "active")
            #expect(experiment["artifact_location"] as? String == "mlflow-artifacts:/0")
        }
    }

    @Test func createGetRenameTagDeleteRestore() async throws {
        try await ServerHarness().test { client in
            let created = try await client.post(
                "experiments/create", ["name": "demo", "tags": [["key": "team", "value": "ml"]]])
            #expect(created.status == .ok)
            let id = try #require(created.json["experiment_id"] as? String)

            let duplicate = try await client.post("experiments/create", ["name": "demo"])
            #expect(duplicate.status == .badRequest)
            #expect(duplicate.errorCode == "RESOURCE_ALREADY_EXISTS")

            let byName = try await client.get("experiments/get-by-name?experiment_name=demo")
            #expect((byName.json["experiment"] as? [String: Any])?["experiment_id"] as? String == id)
            let missing = try await client.get("experiments/get-by-name?experiment_name=nope")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "RESOURCE_DOES_NOT_EXIST")

            #expect(
                try await client.post("experiments/update", ["experiment_id": id, "new_name": "renamed"]).status == .ok)
            #expect(try await client.get("experiments/get-by-name?experiment_name=demo").status == .notFound)
            #expect(try await client.get("experiments/get-by-name?experiment_name=renamed").status == .ok)
            // The old name is free again.
            #expect(try await client.post("experiments/create", ["name": "demo"]).status == .ok)

            try await client.post("experiments/set-experiment-tag", ["experiment_id": id, "key": "k", "value": "v"])
            try await client.post("experiments/delete-experiment-tag", ["experiment_id": id, "key": "team"])
            let tags =
                ((try await client.get("experiments/get?experiment_id=\(id)")).json["experiment"] as? [String: Any])?[
                    "tags"]
                as? [[String: String]]
            #expect(tags == [["key": "k", "value": "v"]])
            let noTag = try await client.post(
                "experiments/delete-experiment-tag", ["experiment_id": id, "key": "team"])
            #expect(noTag.errorCode == "RESOURCE_DOES_NOT_EXIST")

            #expect(try await client.post("experiments/delete", ["experiment_id": id]).status == .ok)
            let deleted = try await client.get("experiments/get?experiment_id=\(id)")
            #expect((deleted.json["experiment"] as? [String: Any])?["lifecycle_stage"] as? String == "deleted")
            let runInDeleted = try await client.post("runs/create", ["experiment_id": id])
            #expect(runInDeleted.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await client.post("experiments/restore", ["experiment_id": id]).status == .ok)

            let unknown = try await client.get("experiments/get?experiment_id=12345")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let defaultDelete = try await client.post("experiments/delete", ["experiment_id": "0"])
            #expect(defaultDelete.errorCode == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test func searchFiltersOrdersAndPages() async throws {
        try await ServerHarness().test { client in
            for name in ["mnist-a", "mnist-b", "cifar"] {
                try await client.post(
                    "experiments/create", ["name": name, "tags": [["key": "kind", "value": String(name.prefix(5))]]])
            }
            func names(_ body: [String: Any]) async throws -> [String] {
                let answer = try await client.post("experiments/search", body)
                #expect(answer.status == .ok, "\(answer.text)")
                return (answer.json["experiments"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            }
            #expect(
                try await names(["filter": "name LIKE 'mnist%'", "order_by": ["name DESC"]]) == ["mnist-b", "mnist-a"])
            #expect(try await names(["filter": "tags.kind = 'cifar'"]) == ["cifar"])
            #expect(try await names(["order_by": ["name"], "max_results": 2]) == ["Default", "cifar"])
            let first = try await client.post("experiments/search", ["order_by": ["name"], "max_results": 2])
            let token = try #require(first.json["next_page_token"] as? String)
            #expect(
                try await names(["order_by": ["name"], "max_results": 2, "page_token": token]) == [
                    "mnist-a", "mnist-b",
                ])
            let bad = try await client.post("experiments/search", ["filter": "name >> 'x'"])
            #expect(bad.errorCode == "INVALID_PARAMETER_VALUE")
            let get = try await client.get("experiments/search?filter=name%20%3D%20%27cifar%27")
            #expect((get.json["experiments"] as? [[String: Any]])?.count == 1)
        }
    }
}
