import Foundation
import Synchronization

/// Logged models and the model registry of one store, kept in `<store>/models/JOURNAL`
/// (`ModelJournal`): every change is one event appended and fsynced before the call returns, and
/// the state is what the events say, applied in order. Model files live beside it, in
/// `<store>/models/<model id>/artifacts/`.
///
/// Thread-safe. Other processes' changes are read at the next `refresh()` (and before each write).
public final class ModelStore: Sendable {
    public let storePath: String
    private let journal: ModelJournal
    private let state = Mutex(ModelState())

    /// Opens (reads) the store's models; a store with none has an empty journal.
    public init(storePath: String) throws(RunlogError) {
        self.storePath = storePath
        journal = ModelJournal(path: storePath + "/models/JOURNAL")
        try refresh()
    }

    /// Reads what other processes appended since the last read.
    public func refresh() throws(RunlogError) {
        try state.withLock { (state) throws(RunlogError) in
            try journal.catchUp { (payload) throws(RunlogError) in state.apply(try ModelEvent.decode(payload)) }
        }
    }

    /// Damage found in the journal (a record in the middle that fails its checksum), or nil.
    public var damage: String? { state.withLock { _ in journal.damage } }

    /// Appends `make`'s event, built against the current state; returns what `result` reads after.
    @discardableResult
    func write<T>(
        _ make: (ModelState) throws(RunlogError) -> ModelEvent?, result: (ModelState) -> T
    ) throws(RunlogError) -> T {
        try state.withLock { (state) throws(RunlogError) -> T in
            try journal.append(
                apply: { (payload) throws(RunlogError) in state.apply(try ModelEvent.decode(payload)) },
                event: { () throws(RunlogError) -> [UInt8]? in
                    guard let event = try make(state) else { return nil }
                    return try event.encoded()
                })
            return result(state)
        }
    }

    func read<T>(_ body: (ModelState) throws(RunlogError) -> T) throws(RunlogError) -> T {
        try state.withLock { (state) throws(RunlogError) -> T in try body(state) }
    }

    /// Where a logged model's files live: `<store>/models/<id>/artifacts`.
    public func artifactDirectory(of model: String) -> String { storePath + "/models/" + model + "/artifacts" }
}

/// What the journal's events add up to.
struct ModelState: Sendable {
    var loggedModels: [String: LoggedModel] = [:]
    /// Registered models by name.
    var registered: [String: RegisteredModel] = [:]

    mutating func apply(_ e: ModelEvent) {
        switch e.op {
        case .createModel:
            // The id names a directory of the store: only ids this code makes are taken.
            guard let id = e.modelID, ModelState.isModelID(id), loggedModels[id] == nil else { return }
            loggedModels[id] = LoggedModel(
                id: id, experimentID: e.experimentID ?? "0", name: e.name ?? id, modelType: e.modelType ?? "",
                sourceRunID: e.runID, creationTime: e.time, lastUpdatedTime: e.time, status: .pending,
                statusMessage: "", tags: e.tags ?? [:], params: e.params ?? [:], metrics: [], artifacts: [:],
                deleted: false, sequence: loggedModels.count)
        case .finalizeModel:
            updateModel(e) { model in
                model.status = e.status.flatMap(LoggedModelStatus.init(rawValue:)) ?? model.status
                model.statusMessage = e.description ?? ""
            }
        case .setModelTags:
            updateModel(e) { $0.tags.merge(e.tags ?? [:]) { $1 } }
        case .deleteModelTag:
            updateModel(e) { $0.tags[e.key ?? ""] = nil }
        case .logModelParams:
            updateModel(e) { $0.params.merge(e.params ?? [:]) { $1 } }
        case .linkModelMetrics:
            updateModel(e) { model in
                for metric in e.metrics ?? [] where !model.metrics.contains(metric) { model.metrics.append(metric) }
            }
        case .modelArtifact:
            updateModel(e) { model in if let artifact = e.artifact { model.artifacts[artifact.path] = artifact } }
        case .deleteModel:
            updateModel(e) { $0.deleted = true }
        case .createRegistered:
            guard let name = e.name, registered[name] == nil else { return }
            registered[name] = RegisteredModel(
                name: name, creationTime: e.time, lastUpdatedTime: e.time, description: e.description ?? "",
                tags: e.tags ?? [:], aliases: [:], versions: [:], nextVersion: 1)
        case .renameRegistered:
            guard let name = e.name, let newName = e.newName, var model = registered[name], registered[newName] == nil
            else { return }
            registered[name] = nil
            model = RegisteredModel(
                name: newName, creationTime: model.creationTime, lastUpdatedTime: e.time,
                description: model.description, tags: model.tags, aliases: model.aliases,
                versions: model.versions.mapValues { v in
                    ModelVersion(
                        name: newName, version: v.version, creationTime: v.creationTime,
                        lastUpdatedTime: v.lastUpdatedTime, description: v.description, source: v.source,
                        runID: v.runID, runLink: v.runLink, modelID: v.modelID, stage: v.stage, tags: v.tags,
                        aliases: [])
                }, nextVersion: model.nextVersion)
            registered[newName] = model
        case .updateRegistered:
            updateRegistered(e) { $0.description = e.description ?? "" }
        case .deleteRegistered:
            registered[e.name ?? ""] = nil
        case .setRegisteredTag:
            updateRegistered(e) { $0.tags[e.key ?? ""] = e.value ?? "" }
        case .deleteRegisteredTag:
            updateRegistered(e) { $0.tags[e.key ?? ""] = nil }
        case .setAlias:
            updateRegistered(e, touching: false) { model in
                if let alias = e.key, let version = e.version { model.aliases[alias] = version }
            }
        case .deleteAlias:
            updateRegistered(e, touching: false) { $0.aliases[e.key ?? ""] = nil }
        case .createVersion:
            updateRegistered(e) { model in
                let number = model.nextVersion
                model.nextVersion += 1
                model.versions[number] = ModelVersion(
                    name: model.name, version: number, creationTime: e.time, lastUpdatedTime: e.time,
                    description: e.description ?? "", source: e.source ?? "", runID: e.runID ?? "",
                    runLink: e.runLink ?? "", modelID: e.modelID, stage: .none, tags: e.tags ?? [:], aliases: [])
            }
        case .updateVersion:
            updateVersion(e) { $0.description = e.description ?? "" }
        case .deleteVersion:
            updateRegistered(e) { model in
                guard let version = e.version else { return }
                model.versions[version] = nil
                model.aliases = model.aliases.filter { $0.value != version }
            }
        case .setVersionTag:
            updateVersion(e) { $0.tags[e.key ?? ""] = e.value ?? "" }
        case .deleteVersionTag:
            updateVersion(e) { $0.tags[e.key ?? ""] = nil }
        case .transitionStage:
            guard let stage = e.stage.flatMap(ModelStage.init(name:)) else { return }
            updateVersion(e) { $0.stage = stage }
            if e.archiveExisting == true, stage == .staging || stage == .production {
                updateRegistered(e) { model in
                    for (number, version) in model.versions where number != e.version && version.stage == stage {
                        model.versions[number]?.stage = .archived
                        model.versions[number]?.lastUpdatedTime = e.time
                    }
                }
            }
        }
    }

    /// `m-` and 32 lowercase hex digits.
    static func isModelID(_ id: String) -> Bool {
        let utf8 = Array(id.utf8)
        return utf8.count == 34 && id.hasPrefix("m-")
            && utf8.dropFirst(2).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private mutating func updateModel(_ e: ModelEvent, _ change: (inout LoggedModel) -> Void) {
        guard let id = e.modelID, var model = loggedModels[id] else { return }
        change(&model)
        model.lastUpdatedTime = max(model.lastUpdatedTime, e.time)
        loggedModels[id] = model
    }

    private mutating func updateRegistered(
        _ e: ModelEvent, touching: Bool = true, _ change: (inout RegisteredModel) -> Void
    ) {
        guard let name = e.name, var model = registered[name] else { return }
        change(&model)
        if touching { model.lastUpdatedTime = max(model.lastUpdatedTime, e.time) }
        registered[name] = model
    }

    private mutating func updateVersion(_ e: ModelEvent, _ change: (inout ModelVersion) -> Void) {
        updateRegistered(e) { model in
            guard let number = e.version, var version = model.versions[number] else { return }
            change(&version)
            version.lastUpdatedTime = max(version.lastUpdatedTime, e.time)
            model.versions[number] = version
        }
    }
}

/// One change, as the journal stores it (a JSON object; FORMAT.md lists the operations).
struct ModelEvent: Codable, Sendable {
    enum Op: String, Codable, Sendable {
        case createModel = "model.create", finalizeModel = "model.finalize", setModelTags = "model.set_tags"
        case deleteModelTag = "model.delete_tag", logModelParams = "model.log_params"
        case linkModelMetrics = "model.link_metrics", modelArtifact = "model.artifact", deleteModel = "model.delete"
        case createRegistered = "registered.create", renameRegistered = "registered.rename"
        case updateRegistered = "registered.update", deleteRegistered = "registered.delete"
        case setRegisteredTag = "registered.set_tag", deleteRegisteredTag = "registered.delete_tag"
        case setAlias = "registered.set_alias", deleteAlias = "registered.delete_alias"
        case createVersion = "version.create", updateVersion = "version.update", deleteVersion = "version.delete"
        case setVersionTag = "version.set_tag", deleteVersionTag = "version.delete_tag"
        case transitionStage = "version.transition_stage"
    }

    var op: Op
    /// When it happened, ms since the epoch.
    var time: Int64
    var modelID: String?
    var experimentID: String?
    var name: String?
    var newName: String?
    var modelType: String?
    var runID: String?
    var status: String?
    var description: String?
    var key: String?
    var value: String?
    var tags: [String: String]?
    var params: [String: String]?
    var metrics: [LoggedModelMetric]?
    var artifact: Artifact?
    var version: Int64?
    var source: String?
    var runLink: String?
    var stage: String?
    var archiveExisting: Bool?

    enum CodingKeys: String, CodingKey {
        case op, time, modelID = "model_id", experimentID = "experiment_id", name, newName = "new_name"
        case modelType = "model_type", runID = "run_id", status, description, key, value, tags, params, metrics
        case artifact, version, source, runLink = "run_link", stage, archiveExisting = "archive_existing"
    }

    init(_ op: Op, time: Int64 = currentTimeMilliseconds()) {
        self.op = op
        self.time = time
    }

    func encoded() throws(RunlogError) -> [UInt8] {
        Array(Validation.canonicalJSON(self).utf8)
    }

    static func decode(_ payload: [UInt8]) throws(RunlogError) -> ModelEvent {
        do {
            return try JSONDecoder().decode(ModelEvent.self, from: Data(payload))
        } catch {
            throw RunlogError(
                .damaged, "a model journal record could not be read (written by a newer Runlog?): \(error)")
        }
    }
}
