import Foundation
import Logging
import Runlog
import Synchronization

/// The only code that calls `TrackingStore`: MLflow's operations over a Runlog store, with
/// MLflow's rules and errors. Every method blocks (it may read or fsync); routes call it on the
/// server's thread pool.
///
/// Freshness: runs this server writes are read back as they are answered. Runs other processes
/// write are read again when a request names them, and a search reads the whole store again at
/// most once per `refreshInterval`.
final class StoreAdapter: Sendable {
    let store: TrackingStore
    let writers: RunWriters
    /// Logged models and the model registry (`<store>/models/`).
    let models: ModelStore
    let logger: Logger
    private let refreshInterval: Duration
    private let lastRefresh = Mutex<ContinuousClock.Instant>(.now)
    private let refreshing = Mutex(false)
    static let defaultExperimentID = "0"

    init(store: TrackingStore, logger: Logger, maxOpenWriters: Int, refreshInterval: Duration = .seconds(1))
        throws(RunlogError)
    {
        self.store = store
        self.logger = logger
        self.refreshInterval = refreshInterval
        self.writers = RunWriters(store: store, logger: logger, maxOpen: maxOpenWriters)
        self.models = try ModelStore(storePath: store.path)
        try store.experiment(named: "Default", id: StoreAdapter.defaultExperimentID)
    }

    // MARK: Experiments

    func createExperiment(_ request: CreateExperimentRequest) throws(MLflowError) -> CreateExperimentResponse {
        let name = try required(request.name, "name")
        let tags = KeyValue.dictionary(request.tags ?? [])
        return CreateExperimentResponse(
            experiment_id: try run { () throws(RunlogError) in try store.createExperiment(named: name, tags: tags).id })
    }

    func experiment(id: String?) throws(MLflowError) -> ExperimentResponse {
        ExperimentResponse(experiment: WireExperiment(try experiment(try required(id, "experiment_id"))))
    }

    func experiment(name: String?) throws(MLflowError) -> ExperimentResponse {
        let name = try required(name, "experiment_name")
        guard
            let experiment = try run({ () throws(RunlogError) in
                try store.experiments(includeDeleted: true).first { $0.name == name }
            })
        else { throw MLflowError(.resourceDoesNotExist, "Could not find experiment with name '\(name)'") }
        return ExperimentResponse(experiment: WireExperiment(experiment))
    }

    func searchExperiments(_ request: SearchExperimentsRequest) throws(MLflowError) -> SearchExperimentsResponse {
        let viewType = try Self.viewType(request.view_type, "view_type")
        let maxResults = try Self.maxResults(request.max_results, default: 1000, limit: Limits.searchResults)
        let page = try run { () throws(RunlogError) in
            try store.searchExperiments(
                request.filter ?? "", orderBy: request.order_by ?? [], maxResults: maxResults,
                pageToken: request.page_token.flatMap { $0.isEmpty ? nil : $0 }, viewType: viewType)
        }
        return SearchExperimentsResponse(
            experiments: page.experiments.map(WireExperiment.init), next_page_token: page.nextPageToken)
    }

    func updateExperiment(_ request: UpdateExperimentRequest) throws(MLflowError) -> Empty {
        let id = try required(request.experiment_id, "experiment_id")
        let name = try required(request.new_name, "new_name")
        let experiment = try experiment(id)
        guard experiment.lifecycle == .active else {
            throw MLflowError(
                .invalidParameterValue, "Cannot rename a non-active experiment. Experiment ID: \(id)")
        }
        try run { () throws(RunlogError) in _ = try store.renameExperiment(id, to: name) }
        return Empty()
    }

    func deleteExperiment(_ request: ExperimentIDRequest) throws(MLflowError) -> Empty {
        let id = try required(request.experiment_id, "experiment_id")
        guard id != Self.defaultExperimentID else {
            throw MLflowError(.invalidParameterValue, "Cannot delete the default experiment '0'.")
        }
        try run { () throws(RunlogError) in _ = try store.deleteExperiment(id) }
        return Empty()
    }

    func restoreExperiment(_ request: ExperimentIDRequest) throws(MLflowError) -> Empty {
        let id = try required(request.experiment_id, "experiment_id")
        try run { () throws(RunlogError) in _ = try store.restoreExperiment(id) }
        return Empty()
    }

    func setExperimentTag(_ request: ExperimentTagRequest) throws(MLflowError) -> Empty {
        let id = try required(request.experiment_id, "experiment_id")
        let key = try required(request.key, "key")
        let value = try present(request.value, "value")
        try activeExperiment(id)
        try run { () throws(RunlogError) in _ = try store.setTag(key, value, onExperiment: id) }
        return Empty()
    }

    func deleteExperimentTag(_ request: ExperimentTagRequest) throws(MLflowError) -> Empty {
        let id = try required(request.experiment_id, "experiment_id")
        let key = try required(request.key, "key")
        try activeExperiment(id)
        try run { () throws(RunlogError) in _ = try store.deleteTag(key, onExperiment: id) }
        return Empty()
    }

    private func experiment(_ id: String) throws(MLflowError) -> Experiment {
        let found: Experiment?
        do throws(RunlogError) {
            found = try store.experiment(id: id)
        } catch  where error.code == .invalidArgument {
            found = nil  // not an id this store could have made
        } catch {
            throw MLflowError(error)
        }
        guard let found else {
            throw MLflowError(.resourceDoesNotExist, "No Experiment with id=\(id) exists")
        }
        return found
    }

    @discardableResult
    func activeExperiment(_ id: String) throws(MLflowError) -> Experiment {
        let experiment = try experiment(id)
        guard experiment.lifecycle == .active else {
            throw MLflowError(
                .invalidParameterValue,
                "The experiment \(id) must be in the 'active' state. Current state is \(experiment.lifecycle.rawValue)."
            )
        }
        return experiment
    }

    // MARK: Runs

    func createRun(_ request: CreateRunRequest) throws(MLflowError) -> RunResponse {
        let experimentID = request.experiment_id.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultExperimentID
        let experiment = try activeExperiment(experimentID)
        var tags = KeyValue.dictionary(request.tags ?? [])
        let name = request.run_name.flatMap { $0.isEmpty ? nil : $0 } ?? tags["mlflow.runName"] ?? RunNames.random()
        tags["mlflow.runName"] = name
        if let user = request.user_id, !user.isEmpty, tags["mlflow.user"] == nil { tags["mlflow.user"] = user }
        let active = try run { () throws(RunlogError) in
            try store.startRun(
                in: experiment, name: name, tags: tags, startTime: request.start_time, userID: request.user_id,
                captureEnvironment: false)
        }
        writers.adopt(active)
        return RunResponse(run: WireRun(try info(active.id)))
    }

    func getRun(_ id: String?) throws(MLflowError) -> RunResponse {
        let id = try runID(id)
        try refreshIfForeign(id)
        return RunResponse(run: WireRun(try info(id)))
    }

    func updateRun(_ request: UpdateRunRequest) throws(MLflowError) -> UpdateRunResponse {
        let id = try runID(request.run_id ?? request.run_uuid)
        let status = try request.status.map { (name) throws(MLflowError) in
            guard let status = RunStatus(name: name), name == name.uppercased() else {
                throw MLflowError.invalid("Invalid value '\(name)' for parameter 'status'")
            }
            return status
        }
        try write(id) { (run) throws(RunlogError) in
            if let name = request.run_name, !name.isEmpty {
                try run.rename(name)
                try run.setTag("mlflow.runName", name)
            }
            if let status {
                try run.setStatus(status, at: status.isTerminal ? request.end_time : nil)
            }
        }
        return UpdateRunResponse(run_info: WireRunInfo(try info(id)))
    }

    func deleteRun(_ request: RunIDRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        _ = try info(id)
        try run { () throws(RunlogError) in try store.deleteRun(id) }
        return Empty()
    }

    func restoreRun(_ request: RunIDRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        _ = try info(id)
        try run { () throws(RunlogError) in try store.restoreRun(id) }
        return Empty()
    }

    func logMetric(_ request: LogMetricRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        var point = [
            BatchMetric(
                key: try required(request.key, "key"), value: try required(request.value, "value"),
                timestamp: try required(request.timestamp, "timestamp"), step: request.step ?? 0)
        ]
        if let model = request.model_id, !model.isEmpty {
            _ = try info(id)
            point = try linkModelMetrics(
                id,
                [
                    (
                        point[0],
                        ModelLink(
                            model: model, datasetName: request.dataset_name, datasetDigest: request.dataset_digest)
                    )
                ])
        }
        let points = point
        try write(id) { (run) throws(RunlogError) in try run.logBatch(metrics: points, params: [], tags: []) }
        return Empty()
    }

    func logParam(_ request: KeyValueRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        let key = try required(request.key, "key")
        let value = cut(try present(request.value, "value"), Limits.paramValue, "param", key)
        try write(id) { (run) throws(RunlogError) in try run.logParam(key, value) }
        return Empty()
    }

    func setTag(_ request: KeyValueRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        let key = try required(request.key, "key")
        let value = cut(try present(request.value, "value"), Limits.tagValue, "tag", key)
        try write(id) { (run) throws(RunlogError) in
            try run.setTag(key, value)
            if key == "mlflow.runName" { try run.rename(value) }
        }
        return Empty()
    }

    func deleteTag(_ request: KeyValueRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id ?? request.run_uuid)
        let key = try required(request.key, "key")
        try write(id) { (run) throws(RunlogError) in try run.deleteTag(key) }
        return Empty()
    }

    func logBatch(_ request: LogBatchRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id)
        // Reading the body refused more than `Limits.batchMetrics`, `batchParams` or `batchTags`.
        let metrics = request.metrics
        let params = request.params.map {
            KeyValue(key: $0.key, value: cut($0.value, Limits.paramValue, "param", $0.key))
        }
        let tags = request.tags.map { KeyValue(key: $0.key, value: cut($0.value, Limits.tagValue, "tag", $0.key)) }
        let total = metrics.count + params.count + tags.count
        if total > Limits.batchEntities {
            throw MLflowError.invalid(
                "A batch logging request can contain at most \(Limits.batchEntities) metrics, params, and tags in "
                    + "total. Got \(total). Please split up across multiple requests and try again.")
        }
        var points: [BatchMetric] = []
        points.reserveCapacity(metrics.count)
        var linked: [(BatchMetric, ModelLink)] = []
        for (i, metric) in metrics.enumerated() {
            let point = BatchMetric(
                key: try required(metric.key, "metrics[\(i)].key"),
                value: try required(metric.value, "metrics[\(i)].value"),
                timestamp: try required(metric.timestamp, "metrics[\(i)].timestamp"), step: metric.step ?? 0)
            if let model = metric.model_id, !model.isEmpty {
                linked.append(
                    (
                        point,
                        ModelLink(model: model, datasetName: metric.dataset_name, datasetDigest: metric.dataset_digest)
                    ))
            } else {
                points.append(point)
            }
        }
        if !linked.isEmpty {
            _ = try info(id)
            points += try linkModelMetrics(id, linked)
        }
        try write(id) { (run) throws(RunlogError) in
            try run.logBatch(
                metrics: points, params: params.map { ($0.key, $0.value) }, tags: tags.map { ($0.key, $0.value) })
            if let name = tags.last(where: { $0.key == "mlflow.runName" })?.value { try run.rename(name) }
        }
        return Empty()
    }

    func logInputs(_ request: LogInputsRequest) throws(MLflowError) -> Empty {
        let id = try runID(request.run_id)
        let datasets = request.datasets ?? []
        let models = try (request.models ?? []).map { (m) throws(MLflowError) in
            try required(m.model_id, "models.model_id")
        }
        for model in models { _ = try modelRead { () throws(RunlogError) in try self.models.loggedModel(model) } }
        try write(id) { (run) throws(RunlogError) in
            for model in models { try run.logModelInput(model) }  // each once
            for input in datasets {
                var fields = ["digest": input.dataset.digest, "source_type": input.dataset.source_type]
                fields["source"] = input.dataset.source
                fields["schema"] = input.dataset.schema
                fields["profile"] = input.dataset.profile
                try run.logDataset(
                    name: input.dataset.name, fields: fields, tags: KeyValue.dictionary(input.tags ?? []))
            }
        }
        return Empty()
    }

    func searchRuns(_ request: SearchRunsRequest) throws(MLflowError) -> SearchRunsResponse {
        let viewType = try Self.viewType(request.run_view_type, "run_view_type")
        let maxResults = try Self.maxResults(request.max_results, default: 1000, limit: Limits.searchResults)
        refreshAllIfStale()
        let page = try run { () throws(RunlogError) in
            try store.search(
                request.filter ?? "", experimentIDs: request.experiment_ids.flatMap { $0.isEmpty ? nil : $0 },
                orderBy: request.order_by ?? [], maxResults: maxResults,
                pageToken: request.page_token.flatMap { $0.isEmpty ? nil : $0 }, viewType: viewType)
        }
        return SearchRunsResponse(runs: page.runs.map(WireRun.init), next_page_token: page.nextPageToken)
    }

    // MARK: Helpers

    /// Runs `body` with the run's writer, after checking the run is active, then flushes: what it
    /// logged is readable here and by other processes (durable as the store's durability says)
    /// before the caller answers.
    func write(_ id: RunID, _ body: (ActiveRun) throws(RunlogError) -> Void) throws(MLflowError) {
        let info = try info(id)
        guard info.lifecycle == .active else {
            throw MLflowError.invalid("The run \(id) must be in the 'active' state. Current state is deleted.")
        }
        try run { () throws(RunlogError) in
            try writers.with(id) { (run) throws(RunlogError) in
                try body(run)
                try run.flush()
            }
        }
    }

    func info(_ id: RunID) throws(MLflowError) -> RunInfo {
        do throws(RunlogError) {
            return try store.run(id)
        } catch  where error.code == .notFound {
            // Perhaps another process created it since the last refresh.
            do throws(RunlogError) {
                try store.refresh(id)
                return try store.run(id)
            } catch {
                throw MLflowError(.resourceDoesNotExist, "Run '\(id)' not found")
            }
        } catch {
            throw MLflowError(error)
        }
    }

    /// Reads a run again unless this server is the one writing it.
    func refreshIfForeign(_ id: RunID) throws(MLflowError) {
        guard !writers.isOpen(id) else { return }
        do throws(RunlogError) {
            try store.refresh(id)
        } catch  where error.code == .notFound || error.storeError?.code == .notFound {
            throw MLflowError(.resourceDoesNotExist, "Run '\(id)' not found")
        } catch {
            throw MLflowError(error)
        }
    }

    /// `refreshAllIfStale` off the caller's thread, one at a time: a page answers from what is
    /// read already, and shows other processes' new runs on the next view.
    func refreshInBackground() {
        guard
            refreshing.withLock({ busy in
                if busy { return false }
                busy = true
                return true
            })
        else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            refreshAllIfStale()
            refreshing.withLock { $0 = false }
        }
    }

    func refreshAllIfStale() {
        let due = lastRefresh.withLock { last -> Bool in
            guard ContinuousClock.now - last >= refreshInterval else { return false }
            last = .now
            return true
        }
        guard due else { return }
        do {
            try store.refresh()
        } catch {
            logger.warning("re-reading the store failed: \(error)")
        }
    }

    func runID(_ text: String?) throws(MLflowError) -> RunID {
        let text = try required(text, "run_id")
        guard let id = RunID(text) else { throw MLflowError(.resourceDoesNotExist, "Run '\(text)' not found") }
        return id
    }

    func required<T>(_ value: T?, _ name: @autoclosure () -> String) throws(MLflowError) -> T {
        guard let value else { throw MLflowError.missing(name()) }
        return value
    }

    /// A string that must be sent but may be empty (a param's or tag's value, as MLflow takes it).
    func present(_ value: String?, _ name: @autoclosure () -> String) throws(MLflowError) -> String {
        guard let value else { throw MLflowError.missing(name()) }
        return value
    }

    /// `value`, or its first `limit` code points with a warning, as MLflow's server stores a
    /// longer param or tag value (rather than refusing it and crashing the client's script).
    func cut(_ value: String, _ limit: Int, _ what: String, _ key: String) -> String {
        guard let short = Limits.truncated(value, limit: limit) else { return value }
        logger.warning(
            "\(what) \(key.debugDescription) has a value of \(value.unicodeScalars.count) characters; stored its first \(limit)"
        )
        return short
    }

    /// A required string: missing and empty are the same to MLflow.
    func required(_ value: String?, _ name: @autoclosure () -> String) throws(MLflowError) -> String {
        guard let value, !value.isEmpty else { throw MLflowError.missing(name()) }
        return value
    }

    func run<T>(_ body: () throws(RunlogError) -> T) throws(MLflowError) -> T {
        do {
            return try body()
        } catch {
            throw MLflowError(error)
        }
    }

    static func viewType(_ text: String?, _ field: String) throws(MLflowError) -> ViewType {
        guard let text, !text.isEmpty else { return .activeOnly }
        guard let viewType = ViewType(rawValue: text) else {
            throw MLflowError.invalid("Invalid value '\(text)' for parameter '\(field)'")
        }
        return viewType
    }

    static func maxResults(_ value: Int64?, default defaultValue: Int, limit: Int, allowingZero: Bool = false)
        throws(MLflowError) -> Int
    {
        guard let value else { return defaultValue }
        guard value >= (allowingZero ? 0 : 1), value <= Int64(limit) else {
            throw MLflowError.invalid(
                "Invalid value \(value) for parameter 'max_results' supplied. It must be at most \(limit) and positive."
            )
        }
        return Int(value)
    }
}
