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
        let start = run.startTime ?? run.metrics.values.compactMap { $0.map(\.timestamp).min() }.min() ?? 0
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
