import RunlogStore

/// A finished run from another tracking system, for importers.
public struct ImportedRun: Sendable {
    public var id: RunID
    public var name: String
    public var status: RunStatus
    public var startTime: Int64?
    public var endTime: Int64?
    public var params: [String: String] = [:]
    public var tags: [String: String] = [:]
    public var metrics: [String: [MetricPoint]] = [:]
    public var deleted = false
    /// Files to keep with the run: artifact path (`model/weights.bin`) → the file to copy.
    public var artifacts: [String: String] = [:]

    public init(id: RunID, name: String, status: RunStatus, startTime: Int64?, endTime: Int64?) {
        self.id = id
        self.name = name
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
    }
}

extension TrackingStore {
    /// Writes a run that was recorded elsewhere, keeping its id, times and status. Returns false
    /// and writes nothing when a run with that id exists (so importing twice adds nothing).
    @discardableResult
    public func importRun(_ run: ImportedRun, into experiment: Experiment) throws(RunlogError) -> Bool {
        if (try? engine.runs().contains(run.id)) == true { return false }
        try Validation.name(run.name.isEmpty ? "-" : run.name, "run", limit: Validation.maxRunNameLength)
        for (key, value) in run.params { try Validation.param(key, value) }
        for (key, value) in run.tags { try Validation.tag(key, value) }
        for key in run.metrics.keys { try Validation.key(key, "metric") }
        for path in run.artifacts.keys { try ArtifactPath.check(path) }
        let start = run.startTime ?? run.metrics.values.compactMap { $0.map(\.timestamp).min() }.min() ?? 0
        // The files first: a run is only in the store once its artifacts are.
        var artifacts: [Artifact] = []
        do {
            for path in run.artifacts.keys.sorted() {
                artifacts.append(
                    try ArtifactFiles.keep(
                        run.artifacts[path]!, as: path, of: run.id, in: engine.path, moving: false,
                        followingLinks: false))
            }
        } catch {
            try? ArtifactFiles.removeTree(artifactDirectory(of: run.id))
            throw error
        }
        try storage("importing run \(run.id)") { () throws(StoreError) in
            let writer = try engine.createRun(run.id)
            try writer.append(.attribute(key: "experiment_id", value: experiment.id, timestamp: start))
            try writer.append(.attribute(key: "run_name", value: run.name, timestamp: start))
            try writer.append(.status(.running, timestamp: start))
            for key in run.params.keys.sorted() {
                try writer.append(.param(key: key, value: run.params[key]!, timestamp: start))
            }
            for key in run.tags.keys.sorted() {
                try writer.append(.tag(key: key, value: run.tags[key]!, timestamp: start))
            }
            for artifact in artifacts {
                try writer.append(
                    .attribute(key: RunAttribute.artifact, value: artifact.recorded, timestamp: run.endTime ?? start))
            }
            for key in run.metrics.keys.sorted() {
                let series = try writer.series(key)
                for p in run.metrics[key]! {
                    try writer.log(series, step: p.step, timestamp: p.timestamp, value: p.value)
                }
            }
            if run.status != .running {
                try writer.append(.status(run.status, timestamp: run.endTime ?? start))
            }
            try writer.close()
            if run.deleted { try engine.deleteRun(run.id) }
        }
        try catalog.refresh(run.id)
        return true
    }
}

extension TrackingStore {
    /// The experiment an import puts runs into: the one named `name` when there is one, else a
    /// new one with the source's id `preferredID` (so links and scripts naming it keep working)
    /// and `tags` — or with a new id when `preferredID` is taken or is not a valid id.
    /// `keptID` says whether the experiment has `preferredID`.
    public func importExperiment(named name: String, preferredID: String, tags: [String: String] = [:])
        throws(RunlogError) -> (experiment: Experiment, keptID: Bool)
    {
        if let existing = try experimentFiles.lookUp(name) { return (existing, existing.id == preferredID) }
        var free = (try? Experiment.validateID(preferredID)) != nil
        if free { free = try experimentFiles.load(preferredID) == nil }
        let experiment = try experimentFiles.create(name, id: free ? preferredID : nil, tags: tags).experiment
        return (experiment, experiment.id == preferredID)
    }
}
