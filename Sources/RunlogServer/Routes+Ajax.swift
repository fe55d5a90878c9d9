import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Runlog

/// The endpoints MLflow's own web UI calls beside the REST API, served for scripts and tools that
/// call them too: `ajax-api/2.0/mlflow/upload-artifact`, `experiments/search-datasets`,
/// `/get-artifact` and `/model-versions/get-artifact`.
extension Routes {
    func registerAjax(on router: Router<BasicRequestContext>) {
        let adapter = adapter
        let pool = pool
        router.post("/ajax-api/2.0/mlflow/upload-artifact") { request, _ -> Response in
            let query = Query(request)
            let location = try await pool.runIfActive {
                try adapter.uploadLocation(run: query.string("run_uuid"), path: query.string("path"))
            }
            let body = try await Self.body(request, limit: StoreAdapter.uploadLimit)
            guard !body.isEmpty else { throw MLflowError.invalid("Request must specify data.") }
            let incoming = try adapter.incomingFile()
            guard FileManager.default.createFile(atPath: incoming, contents: body) else {
                throw MLflowError(.internalError, "could not write \(incoming)")
            }
            return try await Self.publish(incoming, at: location, adapter, pool)
        }
        post(router, "experiments/search-datasets") { a, r in try a.searchDatasets(r) }
        router.get("/get-artifact") { request, _ -> Response in
            let query = Query(request)
            let file = try await pool.runIfActive {
                try adapter.runArtifact(
                    run: query.string("run_id") ?? query.string("run_uuid"), path: query.string("path"))
            }
            return try Self.download(file)
        }
        router.get("/model-versions/get-artifact") { request, _ -> Response in
            let query = Query(request)
            let file = try await pool.runIfActive {
                try adapter.versionArtifact(
                    name: query.string("name"), version: query.string("version"), path: query.string("path"))
            }
            return try Self.download(file)
        }
    }
}

struct SearchDatasetsRequest: Decodable {
    let experiment_ids: [String]?
}

struct WireDatasetSummary: Encodable, Sendable, Hashable {
    let experiment_id: String
    let name: String
    let digest: String
    let context: String?
}

struct SearchDatasetsResponse: Encodable {
    let dataset_summaries: [WireDatasetSummary]
}

extension StoreAdapter {
    /// MLflow's UI uploads at most this much in one `upload-artifact`.
    static let uploadLimit = 10 << 20

    func uploadLocation(run text: String?, path: String?) throws(MLflowError) -> ArtifactLocation {
        guard let text, !text.isEmpty else { throw MLflowError.invalid("Request must specify run_uuid.") }
        guard let path, !path.isEmpty else { throw MLflowError.invalid("Request must specify path.") }
        try Self.checkPath(path)
        let id = try runID(text)
        let info = try info(id)
        return try ArtifactLocation(
            [info.experimentID, id.description, "artifacts"] + path.split(separator: "/").map(String.init),
            allowRoot: false)
    }

    func runArtifact(run text: String?, path: String?) throws(MLflowError) -> (Artifact, String) {
        let id = try runID(text)
        let path = try required(path, "path")
        try Self.checkPath(path)
        let info = try info(id)
        return try artifactFile(
            ArtifactLocation(
                [info.experimentID, id.description, "artifacts"] + path.split(separator: "/").map(String.init),
                allowRoot: false))
    }

    /// A file of a model version: its logged model's, or its source run's under the source path.
    func versionArtifact(name: String?, version: String?, path: String?) throws(MLflowError) -> (Artifact, String) {
        let name = try required(name, "name")
        let number = try Self.versionNumber(version.map(TextOrNumber.text))
        let path = try required(path, "path")
        try Self.checkPath(path)
        let found = try modelRead { () throws(RunlogError) in try models.version(name, number) }
        if let modelID = found.modelID,
            let file = try run({ () throws(RunlogError) in try models.artifactFile(of: modelID, path) })
        {
            return file
        }
        if found.source.hasPrefix("runs:/"), let id = RunID(found.runID) {
            let prefix = found.source.dropFirst("runs:/".count).drop { $0 != "/" }.drop { $0 == "/" }
            let full = prefix.isEmpty ? path : prefix + "/" + path
            return try runArtifact(run: id.description, path: String(full))
        }
        throw MLflowError(.resourceDoesNotExist, "No such artifact: '\(path)'")
    }

    /// The datasets the runs of these experiments used: name, digest and context, each once.
    func searchDatasets(_ request: SearchDatasetsRequest) throws(MLflowError) -> SearchDatasetsResponse {
        let experiments = request.experiment_ids ?? []
        guard !experiments.isEmpty else {
            throw MLflowError.invalid("SearchDatasets request must specify at least one experiment_id.")
        }
        guard experiments.count <= 20 else {
            throw MLflowError.invalid(
                "SearchDatasets request cannot specify more than 20 experiment_ids. Received \(experiments.count) "
                    + "experiment_ids.")
        }
        refreshAllIfStale()
        let runs = store.runs(experimentIDs: experiments, includeDeleted: false)
            .sorted { ($0.startTime ?? 0) > ($1.startTime ?? 0) }
        var seen: Set<WireDatasetSummary> = []
        var summaries: [WireDatasetSummary] = []
        for run in runs {
            for dataset in DatasetInput.all(in: run) {
                let summary = WireDatasetSummary(
                    experiment_id: run.experimentID, name: dataset.name, digest: dataset.fields["digest"] ?? "",
                    context: dataset.tags["mlflow.data.context"])
                if seen.insert(summary).inserted { summaries.append(summary) }
                if summaries.count == 1000 { return SearchDatasetsResponse(dataset_summaries: summaries) }
            }
        }
        return SearchDatasetsResponse(dataset_summaries: summaries)
    }
}
