import RunlogStore

/// The points of one imported metric, handed over in order and as many times as asked: an
/// importer streams them from its files instead of holding a history in memory. A bad point is
/// an error (`.invalidArgument`, naming where it is), which fails the run's import.
public protocol MetricPointSource: Sendable {
    func forEachPoint(_ body: (MetricPoint) throws(RunlogError) -> Void) throws(RunlogError)
}

extension Array: MetricPointSource where Element == MetricPoint {
    public func forEachPoint(_ body: (MetricPoint) throws(RunlogError) -> Void) throws(RunlogError) {
        for point in self { try body(point) }
    }
}

/// A finished run from another tracking system, for importers.
public struct ImportedRun: Sendable {
    public var id: RunID
    public var name: String
    public var status: RunStatus
    public var startTime: Int64?
    public var endTime: Int64?
    public var params: [String: String] = [:]
    public var tags: [String: String] = [:]
    /// Each metric's points, read once as they are written (and once more first when `startTime`
    /// is nil, to find the earliest timestamp).
    public var metrics: [String: any MetricPointSource] = [:]
    public var deleted = false
    /// When it was deleted (ms since the epoch; MLflow's `deleted_time`); nil: at the import.
    public var deletionTime: Int64?
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
    /// and writes nothing when a run with that id exists (so importing twice adds nothing). When
    /// anything fails — a bad point of a metric source, the disk — the run is removed again with
    /// its artifacts: a failed import leaves nothing behind.
    @discardableResult
    public func importRun(_ run: ImportedRun, into experiment: Experiment) throws(RunlogError) -> Bool {
        if (try? engine.runs().contains(run.id)) == true { return false }
        try Validation.name(run.name.isEmpty ? "-" : run.name, "run", limit: Validation.maxRunNameLength)
        for (key, value) in run.params { try Validation.param(key, value) }
        for (key, value) in run.tags { try Validation.tag(key, value) }
        for key in run.metrics.keys { try Validation.key(key, "metric") }
        for path in run.artifacts.keys { try ArtifactPath.check(path) }
        var start = run.startTime
        if start == nil {
            for source in run.metrics.values {
                try source.forEachPoint { point in start = Swift.min(start ?? point.timestamp, point.timestamp) }
            }
        }
        let startTime = start ?? 0
        // The files first: a run is only in the store once its artifacts are.
        var artifacts: [Artifact] = []
        do throws(RunlogError) {
            for path in run.artifacts.keys.sorted() {
                artifacts.append(
                    try ArtifactFiles.keep(
                        run.artifacts[path]!, as: path, of: run.id, in: engine.path, moving: false,
                        followingLinks: false))
            }
            // Another process may have created the run since the check: then it is not ours to remove.
            let writer = try storage("importing run \(run.id)") { () throws(StoreError) in
                try engine.createRun(run.id)
            }
            do throws(RunlogError) {
                try write(run, artifacts, startTime, into: experiment, writer)
            } catch {
                try? writer.close()
                try? engine.removeRun(run.id)
                throw error
            }
        } catch {
            try? ArtifactFiles.removeTree(artifactDirectory(of: run.id))
            throw error
        }
        try catalog.refresh(run.id)
        return true
    }

    private func write(
        _ run: ImportedRun, _ artifacts: [Artifact], _ start: Int64, into experiment: Experiment, _ writer: RunWriter
    ) throws(RunlogError) {
        try storage("importing run \(run.id)") { () throws(StoreError) in
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
        }
        for key in run.metrics.keys.sorted() {
            let series = try storage("importing run \(run.id)") { () throws(StoreError) in try writer.series(key) }
            try run.metrics[key]!.forEachPoint { (p) throws(RunlogError) in
                try storage("importing run \(run.id)") { () throws(StoreError) in
                    try writer.log(series, step: p.step, timestamp: p.timestamp, value: p.value)
                }
            }
        }
        try storage("importing run \(run.id)") { () throws(StoreError) in
            if run.status != .running {
                try writer.append(.status(run.status, timestamp: run.endTime ?? start))
            }
            try writer.close()
            if run.deleted { try engine.deleteRun(run.id, at: run.deletionTime ?? currentTimeMilliseconds()) }
        }
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
