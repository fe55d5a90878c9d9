import Foundation
import Runlog

/// Logged models and the model registry, with MLflow's rules and messages.
extension StoreAdapter {
    // MARK: Logged models

    func createLoggedModel(_ request: CreateLoggedModelRequest) throws(MLflowError) -> LoggedModelResponse {
        let experimentID = try required(request.experiment_id, "experiment_id")
        try activeExperiment(experimentID)
        let model = try run { () throws(RunlogError) in
            try models.createLoggedModel(
                experimentID: experimentID, name: request.name, modelType: request.model_type,
                sourceRunID: request.source_run_id, params: KeyValue.dictionary(request.params ?? []),
                tags: KeyValue.dictionary(request.tags ?? []))
        }
        return LoggedModelResponse(model: WireLoggedModel(model))
    }

    func loggedModel(_ id: String, allowDeleted: Bool) throws(MLflowError) -> LoggedModelResponse {
        let model = try modelRead { () throws(RunlogError) in try models.loggedModel(id, includeDeleted: allowDeleted) }
        return LoggedModelResponse(model: WireLoggedModel(model))
    }

    func finalizeLoggedModel(_ id: String, _ request: FinalizeLoggedModelRequest) throws(MLflowError)
        -> LoggedModelResponse
    {
        _ = try required(request.model_id, "model_id")
        let status: LoggedModelStatus
        switch try required(request.status, "status") {
        case .number(let number) where number == 2: status = .ready
        case .number(let number) where number == 3: status = .uploadFailed
        case .number(let number) where number == 1: status = .pending
        case .text(let name) where LoggedModelStatus(rawValue: name) != nil: status = LoggedModelStatus(rawValue: name)!
        default: throw MLflowError.invalid("Invalid value for parameter 'status' supplied.")
        }
        let model = try run { () throws(RunlogError) in try models.finalizeLoggedModel(id, status: status) }
        return LoggedModelResponse(model: WireLoggedModel(model))
    }

    func deleteLoggedModel(_ id: String) throws(MLflowError) -> Empty {
        try run { () throws(RunlogError) in try models.deleteLoggedModel(id) }
        return Empty()
    }

    func setLoggedModelTags(_ id: String, _ request: LoggedModelTagsRequest) throws(MLflowError) -> Empty {
        let tags = request.tags ?? []
        for tag in tags { try checkKey(tag.key, "tag") }
        _ = try run { () throws(RunlogError) in try models.setLoggedModelTags(id, KeyValue.dictionary(tags)) }
        return Empty()
    }

    func deleteLoggedModelTag(_ id: String, key: String) throws(MLflowError) -> Empty {
        try run { () throws(RunlogError) in try models.deleteLoggedModelTag(id, key) }
        return Empty()
    }

    func logLoggedModelParams(_ id: String, _ request: LoggedModelParamsRequest) throws(MLflowError) -> Empty {
        try run { () throws(RunlogError) in
            try models.logLoggedModelParams(id, KeyValue.dictionary(request.params ?? []))
        }
        return Empty()
    }

    func searchLoggedModels(_ request: SearchLoggedModelsRequest) throws(MLflowError) -> SearchLoggedModelsResponse {
        guard let experiments = request.experiment_ids, !experiments.isEmpty else {
            throw MLflowError.missing("experiment_ids")
        }
        let maxResults = try Self.maxResults(request.max_results, default: 50, limit: Limits.searchResults)
        let order = try (request.order_by ?? []).map { (o) throws(MLflowError) in
            (field: try required(o.field_name, "order_by.field_name"), ascending: o.ascending ?? true)
        }
        let datasets = try (request.datasets ?? []).map { (d) throws(MLflowError) in
            (
                name: try required(d.dataset_name, "datasets.dataset_name"),
                digest: d.dataset_digest.flatMap { $0.isEmpty ? nil : $0 }
            )
        }
        let page = try run { () throws(RunlogError) in
            try models.searchLoggedModels(
                experimentIDs: experiments, filter: request.filter ?? "", datasets: datasets, orderBy: order,
                maxResults: maxResults, pageToken: request.page_token)
        }
        return SearchLoggedModelsResponse(
            models: page.models.map(WireLoggedModel.init), next_page_token: page.nextPageToken)
    }

    func listLoggedModelArtifacts(_ id: String, path: String?) throws(MLflowError) -> ListModelArtifactsResponse {
        let model = try modelRead { () throws(RunlogError) in try models.loggedModel(id) }
        let directory = Self.relative(path)
        let entries = try run { () throws(RunlogError) in try models.listArtifacts(of: id, under: directory) }
        return ListModelArtifactsResponse(
            root_uri: model.artifactURI,
            files: entries.map { WireFileInfo(path: $0.path, is_dir: $0.isDirectory, file_size: $0.size) })
    }

    /// `runs/outputs`: the run produced these logged models.
    func logOutputs(_ request: LogOutputsRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id)
        let outputs = try (request.models ?? []).map { (o) throws(MLflowError) in
            ModelOutput(modelID: try required(o.model_id, "models.model_id"), step: o.step ?? 0)
        }
        for output in outputs {
            _ = try modelRead { () throws(RunlogError) in try models.loggedModel(output.modelID) }
        }
        try write(id) { (run) throws(RunlogError) in
            for output in outputs { try run.logModelOutput(output) }  // each once
        }
        return Empty()
    }

    /// Metrics of a `log-batch` or `log-metric` that name a logged model: linked to it. A point the
    /// run already has (the client sends a run's points again when it logs a model) is not
    /// appended twice; the others are returned, for the run.
    func linkModelMetrics(_ run: RunID, _ points: [(BatchMetric, ModelLink)]) throws(MLflowError) -> [BatchMetric] {
        var fresh: [BatchMetric] = []
        var byModel: [String: [LoggedModelMetric]] = [:]
        for (point, link) in points {
            byModel[link.model, default: []].append(
                LoggedModelMetric(
                    key: point.key, value: point.value, timestamp: point.timestamp, step: point.step,
                    runID: run.description, datasetName: link.datasetName, datasetDigest: link.datasetDigest))
            let existing =
                (try? store.history(
                    of: run, point.key, range: ScanRange(steps: point.step...point.step), allowDamaged: true)) ?? []
            let same = existing.contains {
                $0.timestamp == point.timestamp && $0.value.bitPattern == point.value.bitPattern
            }
            if !same { fresh.append(point) }
        }
        for (model, metrics) in byModel.sorted(by: { $0.key < $1.key }) {
            try self.run { () throws(RunlogError) in try models.linkMetrics(metrics, to: model) }
        }
        return fresh
    }

    // MARK: Registry

    func createRegisteredModel(_ request: RegisteredModelRequest) throws(MLflowError) -> RegisteredModelResponse {
        let name = try required(request.name, "name")
        for tag in request.tags ?? [] { try checkKey(tag.key, "tag") }
        let model = try run { () throws(RunlogError) in
            try models.createRegisteredModel(
                name, description: request.description, tags: KeyValue.dictionary(request.tags ?? []))
        }
        return RegisteredModelResponse(registered_model: WireRegisteredModel(model))
    }

    func registeredModel(name: String?) throws(MLflowError) -> RegisteredModelResponse {
        let name = try required(name, "name")
        let model = try modelRead { () throws(RunlogError) in try models.registeredModel(name) }
        return RegisteredModelResponse(registered_model: WireRegisteredModel(model))
    }

    func renameRegisteredModel(_ request: RegisteredModelRequest) throws(MLflowError) -> RegisteredModelResponse {
        let name = try required(request.name, "name")
        let newName = try required(request.new_name, "new_name")
        let model = try run { () throws(RunlogError) in try models.renameRegisteredModel(name, to: newName) }
        return RegisteredModelResponse(registered_model: WireRegisteredModel(model))
    }

    func updateRegisteredModel(_ request: RegisteredModelRequest) throws(MLflowError) -> RegisteredModelResponse {
        let name = try required(request.name, "name")
        let model = try run { () throws(RunlogError) in
            try models.updateRegisteredModel(name, description: request.description)
        }
        return RegisteredModelResponse(registered_model: WireRegisteredModel(model))
    }

    func deleteRegisteredModel(_ request: RegisteredModelRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        try run { () throws(RunlogError) in try models.deleteRegisteredModel(name) }
        return Empty()
    }

    func setRegisteredModelTag(_ request: RegisteredModelRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let key = try required(request.key, "key")
        try checkKey(key, "tag")
        try run { () throws(RunlogError) in try models.setRegisteredModelTag(name, key, request.value ?? "") }
        return Empty()
    }

    func deleteRegisteredModelTag(_ request: RegisteredModelRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let key = try required(request.key, "key")
        try run { () throws(RunlogError) in try models.deleteRegisteredModelTag(name, key) }
        return Empty()
    }

    func setAlias(_ request: RegisteredModelRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let alias = try required(request.alias, "alias")
        let version = try Self.versionNumber(request.version)
        try run { () throws(RunlogError) in try models.setAlias(alias, of: name, to: version) }
        return Empty()
    }

    func deleteAlias(name: String?, alias: String?) throws(MLflowError) -> Empty {
        let name = try required(name, "name")
        let alias = try required(alias, "alias")
        try run { () throws(RunlogError) in try models.deleteAlias(alias, of: name) }
        return Empty()
    }

    func versionByAlias(name: String?, alias: String?) throws(MLflowError) -> ModelVersionResponse {
        let name = try required(name, "name")
        let alias = try required(alias, "alias")
        let version = try modelRead { () throws(RunlogError) in try models.version(name, alias: alias) }
        return ModelVersionResponse(model_version: WireModelVersion(version))
    }

    func latestVersions(name: String?, stages: [String]) throws(MLflowError) -> LatestVersionsResponse {
        let name = try required(name, "name")
        let model = try modelRead { () throws(RunlogError) in try models.registeredModel(name) }
        var wanted: Set<ModelStage> = []
        for stage in stages {
            guard let parsed = ModelStage(name: stage) else {
                throw MLflowError.invalid(
                    "Invalid Model Version stage: \(stage). Value must be one of None, Staging, Production, Archived.")
            }
            wanted.insert(parsed)
        }
        let latest = model.latestVersions.filter { wanted.isEmpty || wanted.contains($0.stage) }
        return LatestVersionsResponse(model_versions: latest.map { WireModelVersion($0, aliases: false) })
    }

    func createModelVersion(_ request: ModelVersionRequest) throws(MLflowError) -> ModelVersionResponse {
        let name = try required(request.name, "name")
        let source = try required(request.source, "source")
        for tag in request.tags ?? [] { try checkKey(tag.key, "tag") }
        var runID = request.run_id.flatMap { $0.isEmpty ? nil : $0 }
        var modelID = request.model_id.flatMap { $0.isEmpty ? nil : $0 }
        try Self.checkVersionSource(source, byModel: modelID != nil)
        if source.hasPrefix("runs:/") {
            // runs:/<run>/<path>: the run must be the one the request names (or named by it alone).
            let rest = source.dropFirst("runs:/".count)
            let sourceRun = String(rest.prefix { $0 != "/" })
            if runID == nil { runID = sourceRun }
            guard runID == sourceRun, RunID(sourceRun) != nil else {
                throw MLflowError.invalid(
                    "Invalid model version source: '\(source)'. The run_id request parameter must identify the "
                        + "resource that contains the source.")
            }
        } else if source.hasPrefix("models:/m-"), modelID == nil {
            modelID = String(source.dropFirst("models:/".count).prefix { $0 != "/" })
        }
        if let runText = runID, let id = RunID(runText) { _ = try info(id) }
        let version = try run { () throws(RunlogError) in
            try models.createVersion(
                of: name, source: source, runID: runID, modelID: modelID, description: request.description,
                tags: KeyValue.dictionary(request.tags ?? []), runLink: request.run_link)
        }
        if let modelID {
            // As MLflow's server does: the logged model's `mlflow.modelVersions` tag lists its versions.
            let listed = (try? models.loggedModel(modelID))?.tags[Self.modelVersionsTag] ?? "[]"
            let entry = "{\"name\": \(Self.pythonJSONString(name)), \"version\": \(version.version)}"
            let updated = listed == "[]" ? "[\(entry)]" : String(listed.dropLast()) + ", \(entry)]"
            _ = try run { () throws(RunlogError) in
                try models.setLoggedModelTags(modelID, [Self.modelVersionsTag: updated])
            }
        }
        return ModelVersionResponse(model_version: WireModelVersion(version))
    }

    func modelVersion(name: String?, version: String?) throws(MLflowError) -> ModelVersionResponse {
        let name = try required(name, "name")
        let number = try Self.versionNumber(version.map(TextOrNumber.text))
        let found = try modelRead { () throws(RunlogError) in try models.version(name, number) }
        return ModelVersionResponse(model_version: WireModelVersion(found))
    }

    func updateModelVersion(_ request: ModelVersionRequest) throws(MLflowError) -> ModelVersionResponse {
        let name = try required(request.name, "name")
        let number = try Self.versionNumber(request.version)
        let version = try run { () throws(RunlogError) in
            try models.updateVersion(name, number, description: request.description)
        }
        return ModelVersionResponse(model_version: WireModelVersion(version))
    }

    func deleteModelVersion(_ request: ModelVersionRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let number = try Self.versionNumber(request.version)
        try run { () throws(RunlogError) in try models.deleteVersion(name, number) }
        return Empty()
    }

    func setModelVersionTag(_ request: ModelVersionRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let number = try Self.versionNumber(request.version)
        let key = try required(request.key, "key")
        try checkKey(key, "tag")
        try run { () throws(RunlogError) in try models.setVersionTag(name, number, key, request.value ?? "") }
        return Empty()
    }

    func deleteModelVersionTag(_ request: ModelVersionRequest) throws(MLflowError) -> Empty {
        let name = try required(request.name, "name")
        let number = try Self.versionNumber(request.version)
        let key = try required(request.key, "key")
        try run { () throws(RunlogError) in try models.deleteVersionTag(name, number, key) }
        return Empty()
    }

    func transitionStage(_ request: ModelVersionRequest) throws(MLflowError) -> ModelVersionResponse {
        let name = try required(request.name, "name")
        let number = try Self.versionNumber(request.version)
        let stage = try required(request.stage, "stage")
        let version = try run { () throws(RunlogError) in
            try models.transitionStage(
                name, number, to: stage, archiveExisting: request.archive_existing_versions ?? false)
        }
        return ModelVersionResponse(model_version: WireModelVersion(version))
    }

    /// Where a version's files are: its logged model's artifacts, or the run's for `runs:/` sources.
    func downloadURI(name: String?, version: String?) throws(MLflowError) -> DownloadURIResponse {
        let name = try required(name, "name")
        let number = try Self.versionNumber(version.map(TextOrNumber.text))
        let found = try modelRead { () throws(RunlogError) in try models.version(name, number) }
        if let modelID = found.modelID,
            let model = try? models.loggedModel(modelID, includeDeleted: true)
        {
            return DownloadURIResponse(artifact_uri: model.artifactURI)
        }
        if found.source.hasPrefix("runs:/"), let id = RunID(found.runID), let run = try? info(id) {
            let path = found.source.dropFirst("runs:/".count).drop { $0 != "/" }
            return DownloadURIResponse(artifact_uri: "mlflow-artifacts:/\(run.experimentID)/\(id)/artifacts\(path)")
        }
        return DownloadURIResponse(artifact_uri: found.source)
    }

    func searchRegisteredModels(filter: String?, orderBy: [String], maxResults: Int64?, pageToken: String?)
        throws(MLflowError) -> SearchRegisteredModelsResponse
    {
        let limit = try Self.maxResults(maxResults, default: 100, limit: 1000, allowingZero: true)
        let page = try run { () throws(RunlogError) in
            try models.searchRegisteredModels(
                filter: filter ?? "", orderBy: orderBy, maxResults: limit, pageToken: pageToken)
        }
        return SearchRegisteredModelsResponse(
            registered_models: page.models.map(WireRegisteredModel.init), next_page_token: page.nextPageToken)
    }

    func searchModelVersions(filter: String?, orderBy: [String], maxResults: Int64?, pageToken: String?)
        throws(MLflowError) -> SearchModelVersionsResponse
    {
        let limit = try Self.maxResults(maxResults, default: 10_000, limit: 200_000, allowingZero: true)
        let page = try run { () throws(RunlogError) in
            try models.searchVersions(filter: filter ?? "", orderBy: orderBy, maxResults: limit, pageToken: pageToken)
        }
        return SearchModelVersionsResponse(
            model_versions: page.versions.map { WireModelVersion($0, aliases: false) },
            next_page_token: page.nextPageToken)
    }

    // MARK: Helpers

    /// MLflow's rules for a version's source: no local path (this server's runs and models keep
    /// their files behind the artifact proxy, so a local path is never inside one), and no `..`
    /// segment or NUL, however often percent-encoded.
    static func checkVersionSource(_ source: String, byModel: Bool) throws(MLflowError) {
        let scheme = source.range(of: ":").map { String(source[..<$0.lowerBound]) }
        let isLocal =
            scheme == nil || scheme == "file" || (scheme!.count == 1 && scheme!.first!.isLetter)
            || scheme!.contains("/")
        if isLocal {
            let owner = byModel ? "model_id" : "run_id"
            let what = byModel ? "the run specified by the model_id" : "the run specified by the run_id"
            throw MLflowError.invalid(
                "Invalid model version source: '\(source)'. To use a local path as a model version source, the "
                    + "\(owner) request parameter has to be specified and the local path has to be contained within "
                    + "the artifact directory of \(what).")
        }
        var decoded = source
        while let next = decoded.replacingOccurrences(of: "+", with: " ").removingPercentEncoding, next != decoded {
            decoded = next
        }
        if decoded.contains("\u{0}") || decoded.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw MLflowError.invalid(
                "Invalid model version source: '\(source)'. If supplying a source as an http, https, local file path, "
                    + "ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative "
                    + "path references present. Please provide an absolute path.")
        }
    }

    static let modelVersionsTag = "mlflow.modelVersions"

    /// A string as Python's `json.dumps` writes it (non-ASCII as `\\uXXXX`).
    static func pythonJSONString(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default: out += String(format: "\\u%04x", unit)
            }
        }
        return out + "\""
    }

    /// Reads after taking in what other processes wrote, so a model another server created is seen.
    func modelRead<T>(_ body: () throws(RunlogError) -> T) throws(MLflowError) -> T {
        do throws(RunlogError) {
            return try body()
        } catch  where error.code == .notFound {
            try? models.refresh()
            return try run(body)
        } catch {
            throw MLflowError(error)
        }
    }

    func checkKey(_ key: String, _ what: String) throws(MLflowError) {
        guard !key.isEmpty, key.utf8.count <= 250 else {
            throw MLflowError.invalid("Invalid value '\(key.prefix(60))' for parameter '\(what) key'")
        }
    }

    static func versionNumber(_ value: TextOrNumber?) throws(MLflowError) -> Int64 {
        guard let value, !value.text.isEmpty else { throw MLflowError.missing("version") }
        guard let number = Int64(value.text) else {
            throw MLflowError.invalid("Parameter 'version' must be an integer, got '\(value.text)'.")
        }
        return number
    }

    /// A listing's directory as the client sends it: "", ".", or a path (a trailing `/` dropped).
    static func relative(_ path: String?) -> String {
        var path = path ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        return path == "." ? "" : path
    }
}

/// The logged model (and dataset) a metric value names.
struct ModelLink: Sendable {
    let model: String
    let datasetName: String?
    let datasetDigest: String?
}
