import RunlogStore

/// A Runlog store seen as MLflow sees one: experiments holding runs, each with params, tags,
/// inputs and metric histories.
///
/// Queries (`runs`, `search`, `history`, `compare`…) answer from what the store held when it was
/// opened or last `refresh()`ed, and from what runs of this process have flushed or finished.
public final class TrackingStore: Sendable {
    public let engine: Store
    let experimentFiles: ExperimentFiles
    let catalog: Catalog

    private init(engine: Store) {
        self.engine = engine
        self.experimentFiles = ExperimentFiles(fileSystem: engine.options.fileSystem, storePath: engine.path)
        self.catalog = Catalog(engine: engine)
    }

    /// Opens (creating when missing) the store at `path` and reads its runs.
    public static func open(at path: String, options: StoreOptions = StoreOptions()) throws(RunlogError)
        -> TrackingStore
    {
        let engine = try storage("opening store \(path)") { () throws(StoreError) in
            try Store.open(at: path, options: options)
        }
        let store = TrackingStore(engine: engine)
        try store.refresh()
        return store
    }

    public var path: String { engine.path }

    /// Reads what other processes wrote since the store was opened or last refreshed.
    public func refresh() throws(RunlogError) {
        let deleted = try experimentFiles.all().filter { $0.lifecycle == .deleted }.map(\.id)
        try catalog.refresh(deletedExperiments: Set(deleted))
    }

    // MARK: Experiments

    /// The experiment named `name`, created when there is none. Race-free across processes: two
    /// processes asking for "mnist" at once get the same experiment.
    public func experiment(named name: String) throws(RunlogError) -> Experiment {
        // "Default" is MLflow's experiment "0", the one runs without an experiment belong to.
        if name == Self.defaultExperimentName { return try experiment(named: name, id: Self.defaultExperimentID) }
        return try experimentFiles.createOrGet(name)
    }

    /// The experiment with id `id`; for "0" ("Default") also before it has a file.
    public func experiment(id: String) throws(RunlogError) -> Experiment? {
        if let experiment = try experimentFiles.load(id) { return experiment }
        return id == Self.defaultExperimentID ? Self.defaultExperiment : nil
    }

    /// Experiments in creation order; deleted ones only when asked for. Experiment "0"
    /// ("Default") is listed once it has a file (the server makes one) or runs (a run made
    /// through the engine alone, outside any experiment, belongs to it).
    public func experiments(includeDeleted: Bool = false) throws(RunlogError) -> [Experiment] {
        var all = try experimentFiles.all()
        if !all.contains(where: { $0.id == Self.defaultExperimentID }),
            runs(includeDeleted: true).contains(where: { $0.experimentID == Self.defaultExperimentID })
        {
            all.insert(Self.defaultExperiment, at: 0)
        }
        return all.filter { includeDeleted || $0.lifecycle == .active }
    }

    /// MLflow's default experiment: id "0", named "Default".
    public static let defaultExperimentID = "0"
    public static let defaultExperimentName = "Default"
    /// The default experiment before it has a file: created at the epoch, no tags.
    static let defaultExperiment = Experiment(
        id: defaultExperimentID, name: defaultExperimentName, creationTime: 0, lifecycle: .active, tags: [:])

    /// Experiment files that cannot be read, each as "path …: why" (damaged on disk). Their
    /// experiments are missing from `experiments()`; their runs are listed with their ids.
    public func damagedExperimentFiles() throws(RunlogError) -> [String] {
        try experimentFiles.scan().damaged
    }

    @discardableResult
    public func setTag(_ key: String, _ value: String, onExperiment id: String) throws(RunlogError) -> Experiment {
        try Validation.tag(key, value)
        return try experimentFiles.update(id) { $0.tags[key] = value }
    }

    // MARK: Runs

    /// Starts a run in `experiment`: status RUNNING from now, with a readable generated name when
    /// none is given, its params and tags, and — unless `captureEnvironment` is off — the inputs
    /// that reproduce it (command line, working directory, executable, git commit and dirty flag,
    /// host, OS, Swift version).
    /// `startTime` (ms) defaults to now; `userID` is recorded as the run's `user_id` attribute.
    ///
    /// Under `runlog run` (`RUNLOG_STORE` names this store, `RUNLOG_RUN_ID` a run), the first run
    /// this process starts with `captureEnvironment` is the one `runlog run` started — taken up,
    /// with these params and tags (and this name, when given) added; it stays in `runlog run`'s
    /// experiment, which recorded how it was started. Later runs are new ones.
    public func startRun(
        in experiment: Experiment, name: String? = nil, params: [String: String] = [:], tags: [String: String] = [:],
        startTime: Int64? = nil, userID: String? = nil, captureEnvironment: Bool = true
    ) throws(RunlogError) -> ActiveRun {
        let runName = name ?? RunNames.random()
        try Validation.name(runName, "run", limit: Validation.maxRunNameLength)
        for (key, value) in params { try Validation.param(key, value) }
        for (key, value) in tags { try Validation.tag(key, value) }
        guard experiment.lifecycle == .active else {
            throw RunlogError(
                .invalidArgument, "experiment \"\(experiment.name)\" is deleted; restore it to start runs")
        }
        if captureEnvironment, let launched = try takeUpLaunchedRun(name: name, params: params, tags: tags) {
            return launched
        }
        let now = startTime ?? currentTimeMilliseconds()
        var records: [RunRecord] = [
            .attribute(key: "experiment_id", value: experiment.id, timestamp: now),
            .attribute(key: "run_name", value: runName, timestamp: now),
            .status(.running, timestamp: now),
        ]
        if let userID {
            try Validation.value(userID, of: "attribute", key: RunAttribute.userID, limit: Validation.maxTagValueLength)
            records.append(.attribute(key: RunAttribute.userID, value: userID, timestamp: now))
        }
        records += params.keys.sorted().map { .param(key: $0, value: params[$0]!, timestamp: now) }
        records += tags.keys.sorted().map { .tag(key: $0, value: tags[$0]!, timestamp: now) }
        if captureEnvironment {
            records += EnvironmentInputs.capture().map { .input(name: $0.name, value: $0.value, timestamp: now) }
        }
        let writer = try storage("starting a run in experiment \"\(experiment.name)\"") { () throws(StoreError) in
            let writer = try engine.createRun()
            for record in records { try writer.append(record) }
            try writer.flush()
            return writer
        }
        try catalog.refresh(writer.runID)
        return ActiveRun(
            id: writer.runID, experimentID: experiment.id, name: runName, writer: writer, catalog: catalog,
            params: params)
    }

    /// Runs `body` in a new run, which finishes FINISHED when `body` returns and FAILED when it
    /// throws (the error is rethrown).
    public func withRun<T>(
        in experiment: Experiment, name: String? = nil, params: [String: String] = [:], tags: [String: String] = [:],
        _ body: (ActiveRun) throws -> T
    ) throws -> T {
        let run = try startRun(in: experiment, name: name, params: params, tags: tags)
        do {
            let result = try body(run)
            try run.finish(.finished)
            return result
        } catch {
            try? run.finish(.failed)  // the body's error is the one to report
            throw error
        }
    }

    /// Records a status for a run no process is writing — typically KILLED for a run whose process
    /// died while it was RUNNING. Fails, naming the process, while a writer holds the run.
    public func setStatus(_ status: RunStatus, of run: RunID) throws(RunlogError) {
        try storage("setting the status of run \(run)") { () throws(StoreError) in
            let writer = try engine.openWriter(run)
            try writer.append(.status(status, timestamp: currentTimeMilliseconds()))
            try writer.close()
        }
        try catalog.refresh(run)
    }

    /// Every run of the store (of the given experiments, when named), newest first.
    public func runs(experimentIDs: [String]? = nil, includeDeleted: Bool = false) -> [RunInfo] {
        let runs = catalog.listing(includeDeleted: includeDeleted).runs
        guard let wanted = experimentIDs.map(Set.init) else { return runs }
        return runs.filter { wanted.contains($0.experimentID) }
    }

    /// About how many bytes the indexes of all runs hold in memory.
    public var indexMemoryEstimate: Int {
        catalog.state.withLock { $0.entries.values.reduce(0) { $0 + $1.reader.index.estimatedMemory } }
    }

    public func run(_ id: RunID) throws(RunlogError) -> RunInfo {
        try catalog.entry(id).info
    }

    /// Runs whose log could not be opened at the last refresh, and why: listings leave them out,
    /// so a caller that must see everything checks here.
    public var unreadableRuns: [RunID: StoreError] { catalog.unreadable }

    /// The damage found reading `run`'s log: where records or segments were skipped or cut off
    /// (file and offset). Empty for a whole run; the same as `run(id).damage`.
    public func damage(of run: RunID) throws(RunlogError) -> [StoreProblem] {
        try catalog.entry(run).info.damage
    }
}

enum RunOrder {
    /// What a run is ordered by.
    typealias Key = (time: Int64, id: RunID)

    static func key(_ run: RunInfo) -> Key { (run.startTime ?? Int64.min, run.id) }

    /// MLflow's default order: start time descending, then run id.
    static func precedes(_ a: Key, _ b: Key) -> Bool {
        a.time != b.time ? a.time > b.time : a.id < b.id
    }

    static func newestFirst(_ a: RunInfo, _ b: RunInfo) -> Bool { precedes(key(a), key(b)) }

    /// `runs` in that order. Sorts small keys and moves each (large) `RunInfo` once: sorting the
    /// values themselves moved them log n times, the most of listing 10,000 runs.
    static func newestFirst(_ runs: [RunInfo]) -> [RunInfo] {
        let keys = runs.indices.map { (key: key(runs[$0]), index: $0) }
        return keys.sorted { precedes($0.key, $1.key) }.map { runs[$0.index] }
    }
}
