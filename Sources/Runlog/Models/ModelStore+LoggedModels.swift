import Foundation

/// Logged models: created by `log_model` (pending), their files uploaded, then finalized (ready).
extension ModelStore {
    public func createLoggedModel(
        experimentID: String, name: String?, modelType: String?, sourceRunID: String?, params: [String: String],
        tags: [String: String]
    ) throws(RunlogError) -> LoggedModel {
        var event = ModelEvent(.createModel)
        let id = "m-" + (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(8) }.joined()
        event.modelID = id
        event.experimentID = experimentID
        event.name = name.flatMap { $0.isEmpty ? nil : $0 } ?? RunNames.random()
        event.modelType = modelType ?? ""
        event.runID = sourceRunID.flatMap { $0.isEmpty ? nil : $0 }
        event.params = params
        event.tags = tags
        return try write({ _ in event }, result: { $0.loggedModels[id]! })
    }

    /// The model `id`; a deleted one only with `includeDeleted`.
    public func loggedModel(_ id: String, includeDeleted: Bool = false) throws(RunlogError) -> LoggedModel {
        try read { (state) throws(RunlogError) in try Self.live(state, id, includeDeleted: includeDeleted) }
    }

    /// Every model, deleted ones too (for `verify` and `gc`).
    public func allLoggedModels() -> [LoggedModel] {
        (try? read { Array($0.loggedModels.values) }) ?? []
    }

    public func finalizeLoggedModel(_ id: String, status: LoggedModelStatus, message: String? = nil)
        throws(RunlogError) -> LoggedModel
    {
        try change(id, .finalizeModel) { event in
            event.status = status.rawValue
            event.description = message
        }
    }

    public func setLoggedModelTags(_ id: String, _ tags: [String: String]) throws(RunlogError) -> LoggedModel {
        try change(id, .setModelTags) { $0.tags = tags }
    }

    public func deleteLoggedModelTag(_ id: String, _ key: String) throws(RunlogError) {
        _ = try change(id, .deleteModelTag) { (event: inout ModelEvent) throws(RunlogError) in
            event.key = key
        } check: { (model) throws(RunlogError) in
            guard model.tags[key] != nil else {
                throw RunlogError(.notFound, "No tag with key '\(key)' found for logged model with ID '\(id)'.")
            }
        }
    }

    public func logLoggedModelParams(_ id: String, _ params: [String: String]) throws(RunlogError) {
        _ = try change(id, .logModelParams) { $0.params = params }
    }

    /// Links metric values to models (a run's `log_batch` with `model_id` set): each once.
    public func linkMetrics(_ metrics: [LoggedModelMetric], to id: String) throws(RunlogError) {
        _ = try change(id, .linkModelMetrics) { $0.metrics = metrics }
    }

    public func deleteLoggedModel(_ id: String) throws(RunlogError) {
        _ = try change(id, .deleteModel) { _ in }
    }

    /// Keeps the file at `file` as the model's artifact `path` (fsynced, renamed into place), then
    /// records its size and SHA-256 in the journal. With `moving`, renamed rather than copied.
    @discardableResult
    public func keepArtifact(file: String, path: String, of id: String, moving: Bool) throws(RunlogError) -> Artifact {
        let model = try loggedModel(id)
        let artifact = try ArtifactFiles.keep(
            file, as: path, into: artifactDirectory(of: model.id), in: storePath, moving: moving,
            followingLinks: true)
        _ = try change(id, .modelArtifact) { $0.artifact = artifact }
        return artifact
    }

    /// The file of a model's artifact, for reading; nil when the model recorded no such file.
    public func artifactFile(of id: String, _ path: String) throws(RunlogError) -> (Artifact, String)? {
        try ArtifactPath.check(path)
        let model = try loggedModel(id)
        guard let artifact = model.artifacts[path] else { return nil }
        return (artifact, artifactDirectory(of: id) + "/" + path)
    }

    /// A model's files and folders directly under `directory` ("" for the top).
    public func listArtifacts(of id: String, under directory: String = "") throws(RunlogError)
        -> [(path: String, isDirectory: Bool, size: Int64?)]
    {
        try ArtifactListing.entries(of: try loggedModel(id).artifacts, under: directory)
    }

    /// Checks each of the model's recorded files: present, of the recorded size and SHA-256.
    public func verifyArtifacts(of id: String) throws(RunlogError) -> [String] {
        let model = try loggedModel(id, includeDeleted: true)
        return ArtifactFiles.verify(model.artifacts, in: artifactDirectory(of: id))
    }

    /// Removes the files of deleted logged models (`runlog gc`); their record stays in the journal,
    /// marked deleted. Returns each model whose files went, with the bytes its record counted.
    public func removeDeletedModelFiles(dryRun: Bool) throws(RunlogError) -> [(id: String, bytes: Int64)] {
        var removed: [(id: String, bytes: Int64)] = []
        for model in allLoggedModels().filter(\.deleted).sorted(by: { $0.id < $1.id }) {
            let directory = storePath + "/models/" + model.id
            var info = stat()
            guard lstat(directory, &info) == 0 else { continue }
            if !dryRun { try ArtifactFiles.removeTree(directory) }
            removed.append((model.id, model.artifacts.values.reduce(0) { $0 &+ $1.size }))
        }
        return removed
    }

    /// Logged models of `experimentIDs` matching `filter` (MLflow's logged-model filter: attributes
    /// `name`, `model_id`, `model_type`, `status`, `source_run_id`, `creation_timestamp`,
    /// `last_updated_timestamp`, and `params.`, `tags.`, `metrics.`), newest first unless ordered.
    /// With `datasets`, only models with a linked metric measured on one of them (a digest of nil
    /// matches any digest).
    public func searchLoggedModels(
        experimentIDs: [String], filter: String, datasets: [(name: String, digest: String?)] = [],
        orderBy: [(field: String, ascending: Bool)], maxResults: Int, pageToken: String?
    ) throws(RunlogError) -> (models: [LoggedModel], nextPageToken: String?) {
        let clauses = try ModelFilter.parse(filter)
        let models = try read { state in
            state.loggedModels.values.filter { !$0.deleted && experimentIDs.contains($0.experimentID) }
        }
        var matching = models.filter { model in
            clauses.allSatisfy { $0.matches(model.filterValue) }
                && (datasets.isEmpty
                    || model.metrics.contains { metric in
                        datasets.contains {
                            $0.name == metric.datasetName && ($0.digest == nil || $0.digest == metric.datasetDigest)
                        }
                    })
        }
        let order = orderBy.isEmpty ? [(field: "creation_timestamp", ascending: false)] : orderBy
        // Parsed once, not in every comparison; a field that names no column sorts nothing.
        let columns = order.compactMap { clause in
            (try? ModelFilter.column(clause.field)).map { (column: $0, ascending: clause.ascending) }
        }
        matching.sort { a, b in
            // Created in the same millisecond: in creation order, the way the first clause runs.
            ModelFilter.precedes(a.filterValue, b.filterValue, by: columns)
                ?? ((a.sequence < b.sequence) == order[0].ascending)
        }
        return try ModelFilter.page(matching, maxResults: maxResults, token: pageToken)
    }

    /// Applies one event to model `id` (which must exist and not be deleted).
    func change(
        _ id: String, _ op: ModelEvent.Op, _ fill: (inout ModelEvent) throws(RunlogError) -> Void,
        check: (LoggedModel) throws(RunlogError) -> Void = { _ in }
    ) throws(RunlogError) -> LoggedModel {
        var event = ModelEvent(op)
        event.modelID = id
        try fill(&event)
        return try write(
            { (state) throws(RunlogError) -> ModelEvent? in
                try check(try Self.live(state, id, includeDeleted: false))
                return event
            }, result: { $0.loggedModels[id]! })
    }

    static func live(_ state: ModelState, _ id: String, includeDeleted: Bool) throws(RunlogError) -> LoggedModel {
        guard let model = state.loggedModels[id], includeDeleted || !model.deleted else {
            throw RunlogError(.notFound, "Logged model with ID '\(id)' not found.")
        }
        return model
    }
}

extension LoggedModel {
    func filterValue(_ column: ModelFilter.Column) -> ModelFilter.Value? {
        switch column {
        case .attribute("name"): .text(name)
        case .attribute("model_id"): .text(id)
        case .attribute("model_type"): .text(modelType)
        case .attribute("status"): .text(status.rawValue)
        case .attribute("source_run_id"): sourceRunID.map { .text($0) }
        case .attribute("experiment_id"): .text(experimentID)
        case .attribute("creation_timestamp"), .attribute("creation_time"): .number(Double(creationTime))
        case .attribute("last_updated_timestamp"): .number(Double(lastUpdatedTime))
        case .attribute: nil
        case .param(let key): params[key].map { .text($0) }
        case .tag(let key): tags[key].map { .text($0) }
        case .metric(let key): metrics.last { $0.key == key }.map { .number($0.value) }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
