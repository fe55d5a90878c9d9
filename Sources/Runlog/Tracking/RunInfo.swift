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
public struct RunInfo: Sendable {
    public let id: RunID
    /// "0" (`TrackingStore.defaultExperimentID`, "Default") for a run written through the engine
    /// alone, outside any experiment.
    public internal(set) var experimentID = TrackingStore.defaultExperimentID
    public internal(set) var name = ""
    /// Who started the run, as the client said (MLflow's `user_id`); empty when unknown.
    public internal(set) var userID = ""
    public internal(set) var status = RunStatus.running
    /// When the run started and, once it ended, when it ended (ms since the epoch).
    public internal(set) var startTime: Int64?
    public internal(set) var endTime: Int64?
    /// The latest timestamp anywhere in the run's log: for a run whose process died while it was
    /// RUNNING, about when that happened.
    public internal(set) var lastWriteTime: Int64?
    /// Deleted when the run was deleted or its experiment was.
    public internal(set) var lifecycle = Lifecycle.active
    public internal(set) var params: [String: String] = [:]
    public internal(set) var tags: [String: String] = [:]
    public internal(set) var inputs: [String: String] = [:]
    public internal(set) var metrics: [String: MetricSummary] = [:]
    /// Files kept with the run (`ActiveRun.logArtifact`), by their path under the run.
    public internal(set) var artifacts: [String: Artifact] = [:]
    /// Damage found reading the run's log (records or segments skipped or cut off): when not
    /// empty, what this describes — summaries, params, tags — may be missing what was lost, and
    /// history queries refuse the run unless allowed. Empty for a whole run.
    public internal(set) var damage: [StoreProblem] = []

    /// The run as its log describes it, records applied in log order.
    init(id: RunID, index: RunIndex) {
        self.id = id
        var lastWrite: Int64?
        func saw(_ time: Int64) { lastWrite = Swift.max(lastWrite ?? time, time) }
        for record in index.records {
            switch record {
            case .param(let key, let value, let time):
                if params[key] == nil { params[key] = value }
                saw(time)
            case .tag(let key, let value, let time):
                tags[key] = value
                saw(time)
            case .input(let name, let value, let time):
                inputs[name] = value
                saw(time)
            case .attribute(let key, let value, let time):
                switch key {
                case "experiment_id": experimentID = value
                case "run_name": name = value
                case RunAttribute.userID: userID = value
                case RunAttribute.deletedTag: tags[value] = nil
                case RunAttribute.artifact:
                    if let artifact = Artifact(recorded: value) { artifacts[artifact.path] = artifact }
                default: break
                }
                saw(time)
            case .status(let status, let time):
                self.status = status
                if startTime == nil { startTime = time }
                endTime = status.isTerminal ? time : nil
                saw(time)
            }
        }
        for (key, series) in index.series {
            guard let summary = series.summary else { continue }
            metrics[key] = MetricSummary(summary)
            saw(summary.maxTimestamp)
        }
        lastWriteTime = lastWrite
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
