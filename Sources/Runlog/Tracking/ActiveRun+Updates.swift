import Foundation
import RunlogStore
import Synchronization

extension TrackingStore {
    /// Takes up writing a run that no process holds — one this process released with `close()`,
    /// or one another process started and left (its child continuing it, a server taking requests
    /// for it). Fails with a storage error whose `storeError?.code` is `.locked`, naming the
    /// holder, while another writer holds it.
    public func resumeRun(_ id: RunID) throws(RunlogError) -> ActiveRun {
        try refresh(id)
        let info = try run(id)
        let writer = try storage("opening run \(id) for writing") { () throws(StoreError) in
            try engine.openWriter(id)
        }
        return ActiveRun(
            id: id, experimentID: info.experimentID, name: info.name, writer: writer, catalog: catalog,
            params: info.params)
    }

    /// Reads one run again: what another process appended, or a run it created since the last
    /// refresh. Throws `.notFound` when there is no such run.
    public func refresh(_ run: RunID) throws(RunlogError) {
        try catalog.refresh(run)
    }
}

extension ActiveRun {
    /// Releases the run without ending it: everything logged is written, the writer's thread and
    /// files are freed, and the run stays in its status (RUNNING, usually) until a later writer —
    /// `TrackingStore.resumeRun` — records more. Later calls on this handle throw.
    public func close() throws(RunlogError) {
        try markFinished()
        try storage("closing run \(id)") { () throws(StoreError) in try writer.close() }
        try catalog.refresh(id)
    }

    /// Records a status without releasing the run, as MLflow's `runs/update` does: a terminal
    /// status ends the run at `time` (default now), RUNNING takes it up again.
    public func setStatus(_ status: RunStatus, at time: Int64? = nil) throws(RunlogError) {
        try append(.status(status, timestamp: time ?? currentTimeMilliseconds()))
    }

    /// Renames the run (the later name wins).
    public func rename(_ name: String) throws(RunlogError) {
        try Validation.name(name, "run", limit: Validation.maxRunNameLength)
        try append(.attribute(key: "run_name", value: name, timestamp: currentTimeMilliseconds()))
    }

    /// Removes a tag; removing a tag the run does not have is an error, as in MLflow.
    public func deleteTag(_ key: String) throws(RunlogError) {
        try Validation.key(key, "tag")
        guard (try? catalog.entry(id))?.info.tags[key] != nil else {
            throw RunlogError(.notFound, "No tag with name: \(key) in run with id \(id)")
        }
        try append(.attribute(key: RunAttribute.deletedTag, value: key, timestamp: currentTimeMilliseconds()))
    }

    /// Records a logged model the run produced (MLflow's `log_outputs`), once per model.
    public func logModelOutput(_ output: ModelOutput) throws(RunlogError) {
        guard !output.modelID.isEmpty else { throw RunlogError(.invalidArgument, "model output has no model id") }
        // Already recorded (as of the last flush): nothing to write.
        if (try? catalog.entry(id))?.info.modelOutputs.contains(output) == true { return }
        try append(
            .attribute(
                key: RunAttribute.modelOutput, value: Validation.canonicalJSON(output),
                timestamp: currentTimeMilliseconds()))
    }

    /// Records a logged model the run used (MLflow's `log_inputs(models=…)`), once per model.
    public func logModelInput(_ modelID: String) throws(RunlogError) {
        guard !modelID.isEmpty else { throw RunlogError(.invalidArgument, "model input has no model id") }
        if (try? catalog.entry(id))?.info.modelInputs.contains(modelID) == true { return }
        try append(.attribute(key: RunAttribute.modelInput, value: modelID, timestamp: currentTimeMilliseconds()))
    }

    /// Records a dataset the run used, as MLflow's `log_input` does: `fields` are the dataset's
    /// (`digest`, `source_type`, `source`, `schema`, `profile`) and its tags (`mlflow.data.context`).
    /// Stored as input `dataset:<name>` whose value is `{"name", …fields, "tags": {…}}` as JSON.
    public func logDataset(name: String, fields: [String: String], tags: [String: String] = [:]) throws(RunlogError) {
        try Validation.key(name, "input")
        var object: [String: AnyCodableText] = fields.mapValues(AnyCodableText.text)
        object["name"] = .text(name)
        if !tags.isEmpty { object["tags"] = .object(tags) }
        let value = Validation.canonicalJSON(object)
        try Validation.value(value, of: "input", key: name, limit: Validation.maxInputValueLength)
        try append(.input(name: "dataset:" + name, value: value, timestamp: currentTimeMilliseconds()))
    }
}

/// A dataset input's JSON: text fields, and its tags as one object.
enum AnyCodableText: Codable, Sendable {
    case text(String)
    case object([String: String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .object(try container.decode([String: String].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .object(let object): try container.encode(object)
        }
    }
}

/// A dataset a run recorded with `logDataset` (or `logInput`), read back from its input.
public struct DatasetInput: Sendable, Hashable {
    public var name: String
    public var fields: [String: String]
    public var tags: [String: String]

    /// The datasets among a run's inputs, by name.
    public static func all(in run: RunInfo) -> [DatasetInput] {
        run.inputs.keys.sorted().compactMap { key -> DatasetInput? in
            guard key.hasPrefix("dataset:"),
                let object = try? JSONDecoder().decode([String: AnyCodableText].self, from: Data(run.inputs[key]!.utf8))
            else { return nil }
            var dataset = DatasetInput(name: String(key.dropFirst("dataset:".count)), fields: [:], tags: [:])
            for (field, value) in object {
                switch value {
                case .text(let text) where field != "name": dataset.fields[field] = text
                case .object(let tags) where field == "tags": dataset.tags = tags
                default: break
                }
            }
            return dataset
        }
    }
}

/// One metric point of a batch.
public struct BatchMetric: Sendable {
    public var key: String
    public var value: Double
    public var timestamp: Int64
    public var step: Int64

    public init(key: String, value: Double, timestamp: Int64, step: Int64) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step
    }
}

extension ActiveRun {
    /// Logs metrics, params and tags together, as MLflow's `log-batch`: every key and value is
    /// checked first (a param that conflicts with a logged one, or with another in the batch,
    /// included), so a batch that breaks a rule logs nothing.
    public func logBatch(
        metrics: [BatchMetric], params: [(key: String, value: String)], tags: [(key: String, value: String)]
    ) throws(RunlogError) {
        var newParams: [(String, String)] = []
        var seen: [String: String] = [:]
        let logged = state.withLock { $0.params }
        for (key, value) in params {
            try Validation.param(key, value)
            guard try Validation.paramIsNew(key, value, existing: logged[key] ?? seen[key], run: id) else { continue }
            seen[key] = value
            newParams.append((key, value))
        }
        for (key, value) in tags { try Validation.tag(key, value) }
        // Each point's metric, found once per point: a batch names a few keys many times, so
        // the one found last, then a short list, answer before a dictionary would hash the key.
        var handles: [Metric] = []
        var seriesOf: [Int] = []
        seriesOf.reserveCapacity(metrics.count)
        var lookup: [String: Int] = [:]
        var last = 0
        for point in metrics {
            if !handles.isEmpty, handles[last].key == point.key {
                seriesOf.append(last)
                continue
            }
            if handles.count <= 16, let i = handles.firstIndex(where: { $0.key == point.key }) {
                last = i
            } else if let i = lookup[point.key] {
                last = i
            } else {
                handles.append(try metric(point.key))
                last = handles.count - 1
                if handles.count > 16 {
                    if lookup.isEmpty { for (i, handle) in handles.enumerated() { lookup[handle.key] = i } }
                    lookup[point.key] = last
                }
            }
            seriesOf.append(last)
        }
        for (key, value) in newParams { try logParam(key, value) }
        let now = currentTimeMilliseconds()
        for (key, value) in tags { try append(.tag(key: key, value: value, timestamp: now)) }
        let points = metrics.map { MetricPoint(step: $0.step, timestamp: $0.timestamp, value: $0.value) }
        try storage("logging a batch of \(points.count) points to run \(id)") { () throws(StoreError) in
            try writer.log(points, series: handles.map(\.series), seriesOf: seriesOf)
        }
    }
}

extension TrackingStore {
    /// The run `runlog run` started for this process, when it was started that way: the store
    /// at `$RUNLOG_STORE` and its run `$RUNLOG_RUN_ID`, taken up for writing (`resumeRun`). nil
    /// when either variable is unset. A program that logs into it should `close()` it when done
    /// and leave the final status to `runlog run`, which records it from the exit status.
    /// While another writer briefly holds the run (`runlog run` writing a system-metrics sample),
    /// it tries again for up to `patience`.
    public static func attachedRun(
        environment: [String: String] = ProcessInfo.processInfo.environment, options: StoreOptions = StoreOptions(),
        patience: Duration = .seconds(15)
    ) throws(RunlogError) -> (store: TrackingStore, run: ActiveRun)? {
        guard let path = environment["RUNLOG_STORE"], !path.isEmpty, let text = environment["RUNLOG_RUN_ID"],
            !text.isEmpty
        else { return nil }
        guard let id = RunID(text) else {
            throw RunlogError(.invalidArgument, "RUNLOG_RUN_ID is not a run id: \(text)")
        }
        let store = try TrackingStore.open(at: path, options: options)
        launchedRunTaken.store(true, ordering: .relaxed)
        return (store, try store.resumeRun(id, patience: patience))
    }

    /// The run `runlog run` started for this process, for `startRun`: once per process, when the
    /// environment names a run of this store.
    func takeUpLaunchedRun(name: String?, params: [String: String], tags: [String: String]) throws(RunlogError)
        -> ActiveRun?
    {
        let environment = ProcessInfo.processInfo.environment
        guard let storePath = environment["RUNLOG_STORE"], let text = environment["RUNLOG_RUN_ID"],
            let id = RunID(text), Self.sameDirectory(storePath, path),
            !launchedRunTaken.exchange(true, ordering: .relaxed)
        else { return nil }
        let run = try resumeRun(id, patience: .seconds(15))
        if let name { try run.rename(name) }
        try run.logParams(params)
        for key in tags.keys.sorted() { try run.setTag(key, tags[key]!) }
        return run
    }

    static func sameDirectory(_ a: String, _ b: String) -> Bool {
        guard let x = realpath(a, nil), let y = realpath(b, nil) else { return false }
        defer {
            free(x)
            free(y)
        }
        return strcmp(x, y) == 0
    }

    /// `resumeRun`, trying again for up to `patience` while another writer holds the run (one
    /// about to let go of it: a child that is exiting, a sample being written).
    public func resumeRun(_ id: RunID, patience: Duration) throws(RunlogError) -> ActiveRun {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try resumeRun(id)
            } catch {
                guard error.storeError?.code == .locked, ContinuousClock.now < deadline else { throw error }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }
}

/// Whether this process has taken up the run `runlog run` started for it.
private let launchedRunTaken = Atomic<Bool>(false)
