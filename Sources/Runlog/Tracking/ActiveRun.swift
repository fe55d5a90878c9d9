import Foundation
import RunlogStore
import Synchronization

/// A metric of an active run, for logging without a key lookup.
public struct Metric: Sendable, Hashable {
    public var key: String { series.key }
    let series: Series
}

/// A run being written by this process: log metrics, params, tags and inputs, then `finish`.
/// Handles are `Sendable`: any thread or task may log.
public final class ActiveRun: Sendable {
    public let id: RunID
    public let experimentID: String
    public let name: String
    let writer: RunWriter
    /// The store's catalog, told about what this run flushes so that queries here see it.
    let catalog: Catalog
    let state: Mutex<State>

    struct State {
        var params: [String: String]
        var metrics: [String: Metric] = [:]
        var finished = false
    }

    init(id: RunID, experimentID: String, name: String, writer: RunWriter, catalog: Catalog, params: [String: String]) {
        self.id = id
        self.catalog = catalog
        self.experimentID = experimentID
        self.name = name
        self.writer = writer
        self.state = Mutex(State(params: params))
    }

    /// The metric named `key`, checked against the key rules once.
    public func metric(_ key: String) throws(RunlogError) -> Metric {
        try state.withLock { (s) throws(RunlogError) -> Metric in
            if let metric = s.metrics[key] { return metric }
            try Validation.key(key, "metric")
            let metric = Metric(
                series: try storage("adding metric \"\(key)\" to run \(id)") { () throws(StoreError) in
                    try writer.series(key)
                })
            s.metrics[key] = metric
            return metric
        }
    }

    /// Logs a value of `metric` at `step`; `timestamp` defaults to now. NaN and ±Inf are legal.
    public func log(_ metric: Metric, _ value: Double, step: Int64 = 0, timestamp: Int64? = nil) throws(RunlogError) {
        try storage("logging \(metric.key) to run \(id)") { () throws(StoreError) in
            try writer.log(metric.series, step: step, timestamp: timestamp ?? currentTimeMilliseconds(), value: value)
        }
    }

    /// Logs a value of the metric named `key` at `step`; `timestamp` defaults to now.
    public func log(_ key: String, _ value: Double, step: Int64 = 0, timestamp: Int64? = nil) throws(RunlogError) {
        try log(try metric(key), value, step: step, timestamp: timestamp)
    }

    /// Logs several metrics at one step and one timestamp. Every key is checked before any value
    /// is logged, so a bad key logs nothing.
    public func log(_ values: [String: Double], step: Int64 = 0, timestamp: Int64? = nil) throws(RunlogError) {
        let time = timestamp ?? currentTimeMilliseconds()
        var metrics: [(Metric, Double)] = []
        for key in values.keys.sorted() { metrics.append((try metric(key), values[key]!)) }
        for (metric, value) in metrics { try log(metric, value, step: step, timestamp: time) }
    }

    /// Logs a param. Params are write-once: the same value again does nothing, another value is
    /// an error naming both.
    public func logParam(_ key: String, _ value: String) throws(RunlogError) {
        try Validation.param(key, value)
        try state.withLock { (s) throws(RunlogError) in
            guard try Validation.paramIsNew(key, value, existing: s.params[key], run: id) else { return }
            try append(.param(key: key, value: value, timestamp: currentTimeMilliseconds()))
            s.params[key] = value
        }
    }

    public func logParams(_ params: [String: String]) throws(RunlogError) {
        for key in params.keys.sorted() { try logParam(key, params[key]!) }
    }

    /// Sets a tag; a tag may be overwritten.
    public func setTag(_ key: String, _ value: String) throws(RunlogError) {
        try Validation.tag(key, value)
        try append(.tag(key: key, value: value, timestamp: currentTimeMilliseconds()))
    }

    /// Records a named input that reproduces the run: a dataset, where it came from, its digest.
    /// Stored as input `dataset:<name>` with a JSON value `{"source": …, "digest": …}`.
    public func logInput(name: String, source: String? = nil, digest: String? = nil) throws(RunlogError) {
        try Validation.key(name, "input")
        var fields: [String: String] = [:]
        fields["source"] = source
        fields["digest"] = digest
        let value = Validation.canonicalJSON(fields)
        try Validation.value(value, of: "input", key: name, limit: Validation.maxInputValueLength)
        try append(.input(name: "dataset:" + name, value: value, timestamp: currentTimeMilliseconds()))
    }

    /// Records a dataset file as an input, with the SHA-256 of its contents.
    public func logInput(name: String, file path: String) throws(RunlogError) {
        try logInput(name: name, source: path, digest: try sha256Digest(ofFile: path))
    }

    /// Makes everything logged so far visible to readers in other processes (and durable, with the
    /// store's default durability).
    public func flush() throws(RunlogError) {
        try storage("flushing run \(id)") { () throws(StoreError) in try writer.flush() }
        try catalog.refresh(id)
    }

    /// Ends the run: records `status` (FINISHED, FAILED or KILLED) and the end time, writes
    /// everything, and releases the run. Later calls on this handle throw.
    public func finish(_ status: RunStatus = .finished) throws(RunlogError) {
        guard status.isTerminal else {
            throw RunlogError(.invalidArgument, "a run finishes as FINISHED, FAILED or KILLED, not \(status)")
        }
        try markFinished()
        try append(.status(status, timestamp: currentTimeMilliseconds()))
        try storage("closing run \(id)") { () throws(StoreError) in try writer.close() }
        try catalog.refresh(id)
    }

    /// Marks the handle done (`finish` or `close`): the second call is an error.
    func markFinished() throws(RunlogError) {
        try state.withLock { (s) throws(RunlogError) in
            guard !s.finished else { throw RunlogError(.invalidArgument, "run \(id) is already finished") }
            s.finished = true
        }
    }

    func append(_ record: RunRecord) throws(RunlogError) {
        try storage("writing to run \(id)") { () throws(StoreError) in try writer.append(record) }
    }
}

extension ActiveRun {
    /// `flush()` without blocking a task's thread: the wait happens on a thread of its own.
    public func flush() async throws(RunlogError) {
        try await offThread { () throws(RunlogError) in try self.flush() }
    }

    /// `finish(_:)` without blocking a task's thread.
    public func finish(_ status: RunStatus = .finished) async throws(RunlogError) {
        try await offThread { () throws(RunlogError) in try self.finish(status) }
    }
}

/// Runs blocking work on a new thread and resumes the task when it is done.
func offThread<T: Sendable>(_ work: @escaping @Sendable () throws(RunlogError) -> T) async throws(RunlogError) -> T {
    let result: Result<T, RunlogError> = await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: Result { () throws(RunlogError) in try work() })
        }
    }
    return try result.get()
}
