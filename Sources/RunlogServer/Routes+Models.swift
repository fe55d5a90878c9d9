import Foundation
import HTTPTypes
import Hummingbird
import Runlog

/// MLflow 3's logged-model endpoints and the model registry's, under both prefixes.
extension Routes {
    func registerLoggedModels(on router: Router<BasicRequestContext>) {
        post(router, "logged-models") { a, r in try a.createLoggedModel(r) }
        post(router, "logged-models/search") { a, r in try a.searchLoggedModels(r) }
        get(router, "logged-models/{model_id}") { a, q, p in
            try a.loggedModel(p["model_id"], allowDeleted: try q.bool("allow_deleted"))
        }
        on(router, .patch, "logged-models/{model_id}") { (a, r: FinalizeLoggedModelRequest, p) in
            try a.finalizeLoggedModel(p["model_id"], r)
        }
        on(router, .delete, "logged-models/{model_id}") { (a, _: Empty, p) in try a.deleteLoggedModel(p["model_id"]) }
        on(router, .patch, "logged-models/{model_id}/tags") { (a, r: LoggedModelTagsRequest, p) in
            try a.setLoggedModelTags(p["model_id"], r)
        }
        on(router, .delete, "logged-models/{model_id}/tags/{tag_key}") { (a, _: Empty, p) in
            try a.deleteLoggedModelTag(p["model_id"], key: p["tag_key"])
        }
        on(router, .post, "logged-models/{model_id}/params") { (a, r: LoggedModelParamsRequest, p) in
            try a.logLoggedModelParams(p["model_id"], r)
        }
        get(router, "logged-models/{model_id}/artifacts/directories") { a, q, p in
            try a.listLoggedModelArtifacts(p["model_id"], path: q.string("artifact_directory_path"))
        }
    }

    func registerRegistry(on router: Router<BasicRequestContext>) {
        post(router, "registered-models/create") { a, r in try a.createRegisteredModel(r) }
        get(router, "registered-models/get") { a, q in try a.registeredModel(name: q.string("name")) }
        post(router, "registered-models/rename") { a, r in try a.renameRegisteredModel(r) }
        on(router, .patch, "registered-models/update") { (a, r: RegisteredModelRequest, _) in
            try a.updateRegisteredModel(r)
        }
        on(router, .delete, "registered-models/delete") { (a, r: RegisteredModelRequest, _) in
            try a.deleteRegisteredModel(r)
        }
        get(router, "registered-models/search") { a, q in
            try a.searchRegisteredModels(
                filter: q.string("filter"), orderBy: q.strings("order_by"), maxResults: try q.int64("max_results"),
                pageToken: q.string("page_token"))
        }
        post(router, "registered-models/set-tag") { a, r in try a.setRegisteredModelTag(r) }
        on(router, .delete, "registered-models/delete-tag") { (a, r: RegisteredModelRequest, _) in
            try a.deleteRegisteredModelTag(r)
        }
        post(router, "registered-models/alias") { a, r in try a.setAlias(r) }
        on(router, .delete, "registered-models/alias") { (a, r: RegisteredModelRequest, _) in
            try a.deleteAlias(name: r.name, alias: r.alias)
        }
        get(router, "registered-models/alias") { a, q in
            try a.versionByAlias(name: q.string("name"), alias: q.string("alias"))
        }
        post(router, "registered-models/get-latest-versions") { (a, r: RegisteredModelRequest) in
            try a.latestVersions(name: r.name, stages: r.stages ?? [])
        }
        get(router, "registered-models/get-latest-versions") { a, q in
            try a.latestVersions(name: q.string("name"), stages: q.strings("stages"))
        }
        post(router, "model-versions/create") { a, r in try a.createModelVersion(r) }
        get(router, "model-versions/get") { a, q in
            try a.modelVersion(name: q.string("name"), version: q.string("version"))
        }
        on(router, .patch, "model-versions/update") { (a, r: ModelVersionRequest, _) in try a.updateModelVersion(r) }
        on(router, .delete, "model-versions/delete") { (a, r: ModelVersionRequest, _) in try a.deleteModelVersion(r) }
        post(router, "model-versions/transition-stage") { a, r in try a.transitionStage(r) }
        post(router, "model-versions/set-tag") { a, r in try a.setModelVersionTag(r) }
        on(router, .delete, "model-versions/delete-tag") { (a, r: ModelVersionRequest, _) in
            try a.deleteModelVersionTag(r)
        }
        get(router, "model-versions/search") { a, q in
            try a.searchModelVersions(
                filter: q.string("filter"), orderBy: q.strings("order_by"), maxResults: try q.int64("max_results"),
                pageToken: q.string("page_token"))
        }
        get(router, "model-versions/get-download-uri") { a, q in
            try a.downloadURI(name: q.string("name"), version: q.string("version"))
        }
    }
}

/// This store keeps no traces (the client's exporter warns and drops them when their POST is
/// ENDPOINT_NOT_FOUND). A search for traces truthfully finds none, so `mlflow.search_traces()`
/// returns an empty frame instead of raising; a trace named by id does not exist.
struct NoTraces: Encodable, Sendable {
    let traces: [String] = []
}

extension Routes {
    func registerTraces(on router: Router<BasicRequestContext>) {
        for prefix in ["/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/"] {
            router.post(RouterPath(prefix + "traces/search")) { request, _ -> Response in
                _ = try await Self.body(request)
                return try Self.json(NoTraces())
            }
        }
        get(router, "traces") { _, _ in NoTraces() }
        for method in [HTTPRequest.Method.patch, .delete] {
            on(router, method, "traces/{request_id}/tags") { (_: StoreAdapter, _: Empty, p: PathParameters) -> Empty in
                throw MLflowError(
                    .resourceDoesNotExist, "Trace with ID '\(p["request_id"])' not found. This server keeps no traces.")
            }
        }
    }
}
