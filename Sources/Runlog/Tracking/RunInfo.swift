import RunlogStore

/// A metric's summary, from the index (no block is decoded to answer it).
public struct MetricSummary: Sendable, Hashable {
    public var count: Int
    /// The smallest and largest non-NaN values; NaN when every value is NaN.
    public var min: Double
    public var max: Double
    /// The point with the least (step, timestamp); of equals, the one logged first.
    public var first: MetricPoint
    /// MLflow's "latest": the point with the greatest (step, timestamp, value).
    public var last: MetricPoint

    init(count: Int, min: Double, max: Double, first: MetricPoint, last: MetricPoint) {
        self.count = count
        self.min = min
        self.max = max
        self.first = first
        self.last = last
    }

    init(_ summary: BlockSummary) {
        count = summary.count
        min = summary.minValue
        max = summary.maxValue
        first = summary.first
        last = summary.latest
    }

    public static func == (a: MetricSummary, b: MetricSummary) -> Bool {
        a.count == b.count && a.min.bitPattern == b.min.bitPattern && a.max.bitPattern == b.max.bitPattern
            && a.first == b.first && a.last == b.last
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(last)
    }
}

/// Everything known of a run: attributes, params, tags, inputs and metric summaries.
///
/// A value with its fields in one shared, copy-on-write box: copying a `RunInfo` — a listing of
/// 10,000 runs copies each while it sorts and filters them — is one retain instead of one for each
/// of its strings, dictionaries and arrays, and touches one object instead of a dozen scattered
/// ones (the first listing after open grew faster than the runs, from cache misses).
public struct RunInfo: Sendable {
    /// `@unchecked Sendable`: a box is changed only while one `RunInfo` holds it
    /// (`isKnownUniquelyReferenced`), and shared boxes are never written.
    private final class Fields: @unchecked Sendable {
        var experimentID: String = TrackingStore.defaultExperimentID
        var name: String = ""
        var userID: String = ""
        var status: RunStatus = RunStatus.running
        var startTime: Int64? = nil
        var endTime: Int64? = nil
        var lastWriteTime: Int64? = nil
        var lifecycle: Lifecycle = Lifecycle.active
        var params: [String: String] = [:]
        var tags: [String: String] = [:]
        var inputs: [String: String] = [:]
        var metrics: [String: MetricSummary] = [:]
        var artifacts: [String: Artifact] = [:]
        var modelOutputs: [ModelOutput] = []
        var modelInputs: [String] = []
        var damage: [StoreProblem] = []

        init() {}

        init(copying other: Fields) {
            experimentID = other.experimentID
            name = other.name
            userID = other.userID
            status = other.status
            startTime = other.startTime
            endTime = other.endTime
            lastWriteTime = other.lastWriteTime
            lifecycle = other.lifecycle
            params = other.params
            tags = other.tags
            inputs = other.inputs
            metrics = other.metrics
            artifacts = other.artifacts
            modelOutputs = other.modelOutputs
            modelInputs = other.modelInputs
            damage = other.damage
        }
    }

    public let id: RunID
    private var fields: Fields

    /// The box, copied first if another `RunInfo` shares it.
    private mutating func unique() -> Fields {
        if !isKnownUniquelyReferenced(&fields) { fields = Fields(copying: fields) }
        return fields
    }

    /// "0" (`TrackingStore.defaultExperimentID`, "Default") for a run written through the engine
    /// alone, outside any experiment.
    public internal(set) var experimentID: String {
        get { fields.experimentID }
        set { unique().experimentID = newValue }
        _modify { yield &unique().experimentID }
    }
    public internal(set) var name: String {
        get { fields.name }
        set { unique().name = newValue }
        _modify { yield &unique().name }
    }
    /// Who started the run, as the client said (MLflow's `user_id`); empty when unknown.
    public internal(set) var userID: String {
        get { fields.userID }
        set { unique().userID = newValue }
        _modify { yield &unique().userID }
    }
    public internal(set) var status: RunStatus {
        get { fields.status }
        set { unique().status = newValue }
        _modify { yield &unique().status }
    }
    /// When the run started and, once it ended, when it ended (ms since the epoch).
    public internal(set) var startTime: Int64? {
        get { fields.startTime }
        set { unique().startTime = newValue }
        _modify { yield &unique().startTime }
    }
    public internal(set) var endTime: Int64? {
        get { fields.endTime }
        set { unique().endTime = newValue }
        _modify { yield &unique().endTime }
    }
    /// The latest timestamp anywhere in the run's log: for a run whose process died while it was
    /// RUNNING, about when that happened.
    public internal(set) var lastWriteTime: Int64? {
        get { fields.lastWriteTime }
        set { unique().lastWriteTime = newValue }
        _modify { yield &unique().lastWriteTime }
    }
    /// Deleted when the run was deleted or its experiment was.
    public internal(set) var lifecycle: Lifecycle {
        get { fields.lifecycle }
        set { unique().lifecycle = newValue }
        _modify { yield &unique().lifecycle }
    }
    public internal(set) var params: [String: String] {
        get { fields.params }
        set { unique().params = newValue }
        _modify { yield &unique().params }
    }
    public internal(set) var tags: [String: String] {
        get { fields.tags }
        set { unique().tags = newValue }
        _modify { yield &unique().tags }
    }
    public internal(set) var inputs: [String: String] {
        get { fields.inputs }
        set { unique().inputs = newValue }
        _modify { yield &unique().inputs }
    }
    public internal(set) var metrics: [String: MetricSummary] {
        get { fields.metrics }
        set { unique().metrics = newValue }
        _modify { yield &unique().metrics }
    }
    /// Files kept with the run (`ActiveRun.logArtifact`), by their path under the run.
    public internal(set) var artifacts: [String: Artifact] {
        get { fields.artifacts }
        set { unique().artifacts = newValue }
        _modify { yield &unique().artifacts }
    }
    /// Logged models the run produced (MLflow's `outputs.model_outputs`), in the order logged.
    public internal(set) var modelOutputs: [ModelOutput] {
        get { fields.modelOutputs }
        set { unique().modelOutputs = newValue }
        _modify { yield &unique().modelOutputs }
    }
    /// Ids of logged models the run used (MLflow's `inputs.model_inputs`), in the order logged.
    public internal(set) var modelInputs: [String] {
        get { fields.modelInputs }
        set { unique().modelInputs = newValue }
        _modify { yield &unique().modelInputs }
    }
    /// Damage found reading the run's log (records or segments skipped or cut off): when not
    /// empty, what this describes — summaries, params, tags — may be missing what was lost, and
    /// history queries refuse the run unless allowed. Empty for a whole run.
    public internal(set) var damage: [StoreProblem] {
        get { fields.damage }
        set { unique().damage = newValue }
        _modify { yield &unique().damage }
    }

    /// The run as its log describes it, records applied in log order.
    init(id: RunID, index: RunIndex) {
        self.id = id
        let f = Fields()
        var lastWrite: Int64?
        func saw(_ time: Int64) { lastWrite = Swift.max(lastWrite ?? time, time) }
        for record in index.records {
            switch record {
            case .param(let key, let value, let time):
                if f.params[key] == nil { f.params[key] = value }
                saw(time)
            case .tag(let key, let value, let time):
                f.tags[key] = value
                saw(time)
            case .input(let name, let value, let time):
                f.inputs[name] = value
                saw(time)
            case .attribute(let key, let value, let time):
                switch key {
                case "experiment_id": f.experimentID = value
                case "run_name": f.name = value
                case RunAttribute.userID: f.userID = value
                case RunAttribute.deletedTag: f.tags[value] = nil
                case RunAttribute.artifact:
                    if let artifact = Artifact(recorded: value) { f.artifacts[artifact.path] = artifact }
                case RunAttribute.modelInput:
                    if !f.modelInputs.contains(value) { f.modelInputs.append(value) }
                case RunAttribute.modelOutput:
                    if let output = ModelOutput(recorded: value), !f.modelOutputs.contains(output) {
                        f.modelOutputs.append(output)
                    }
                default: break
                }
                saw(time)
            case .status(let status, let time):
                f.status = status
                if f.startTime == nil { f.startTime = time }
                f.endTime = status.isTerminal ? time : nil
                saw(time)
            }
        }
        f.metrics.reserveCapacity(index.series.count)  // grown one rehash at a time, it hashed every key again
        for (key, series) in index.series {
            guard let summary = series.summary else { continue }
            f.metrics[key] = MetricSummary(summary)
            saw(summary.maxTimestamp)
        }
        f.lastWriteTime = lastWrite
        fields = f
    }
}

extension RunStatus {
    /// FINISHED, FAILED and KILLED end a run.
    public var isTerminal: Bool { self == .finished || self == .failed || self == .killed }

    /// Parses "FINISHED", "finished"…
    public init?(name: String) {
        guard let status = RunStatus.allCases.first(where: { $0.description == name.uppercased() }) else { return nil }
        self = status
    }
}
