import Foundation
import Runlog

extension StoreAdapter {
    /// A metric's history in step order, a page at a time.
    /// A damaged run is refused with DATA_LOSS unless `allowDamaged` (`allow_damaged=true`, a
    /// Runlog extension); its `runlog.damage` tag says what is missing either way.
    func history(run: String?, key: String?, maxResults: Int64?, pageToken: String?, allowDamaged: Bool = false)
        throws(MLflowError) -> MetricsResponse
    {
        let id = try runID(run)
        let key = try required(key, "metric_key")
        let limit = try Self.maxResults(maxResults, default: Limits.historyPage, limit: Int(Int32.max))
        let offset = try HistoryPageToken.offset(pageToken)
        try refreshIfForeign(id)
        let points = try points(id, key, range: .all, allowDamaged: allowDamaged)
        let page = points.dropFirst(offset).prefix(limit)
        let next = offset + page.count < points.count ? HistoryPageToken.make(offset + page.count) : nil
        return MetricsResponse(
            metrics: page.map { WireMetric(key: key, value: $0.value, timestamp: $0.timestamp, step: $0.step) },
            next_page_token: next)
    }

    /// The histories of one metric of several runs, each with its run id.
    func historyBulk(runs: [String], key: String?, maxResults: Int64?, allowDamaged: Bool = false)
        throws(MLflowError) -> MetricsResponse
    {
        guard let key, !key.isEmpty else {
            throw MLflowError.invalid("GetMetricHistoryBulk request must specify a metric_key.")
        }
        let ids = try bulkRuns(runs)
        let limit = try Self.maxResults(maxResults, default: Limits.historyPage, limit: Int(Int32.max))
        var metrics: [WireMetric] = []
        for id in ids where metrics.count < limit {
            for point in try points(id, key, range: .all, allowDamaged: allowDamaged).prefix(limit - metrics.count) {
                metrics.append(
                    WireMetric(
                        key: key, value: point.value, timestamp: point.timestamp, step: point.step,
                        run_id: id.description))
            }
        }
        return MetricsResponse(metrics: metrics, next_page_token: nil)
    }

    /// At most `max_results` points per run in the step range, chosen so that each bucket's
    /// first, last, smallest and largest point survive (MLflow picks evenly spaced steps and can
    /// drop a spike).
    func historyBulkInterval(
        runs: [String], key: String?, startStep: Int64?, endStep: Int64?, maxResults: Int64?, allowDamaged: Bool = false
    ) throws(MLflowError) -> MetricsResponse {
        let key = try required(key, "metric_key")
        // MLflow checks every parameter before it looks a run up.
        guard !runs.isEmpty else { throw MLflowError.missing("run_ids") }
        guard runs.count <= Limits.bulkRuns else {
            throw MLflowError.invalid(
                "GetMetricHistoryBulkInterval request must specify at most \(Limits.bulkRuns) run_ids. Received "
                    + "\(runs.count) run_ids.")
        }
        if let maxResults, maxResults < 1 || maxResults > Int64(Limits.bulkIntervalPoints) {
            throw MLflowError.invalid(
                "max_results must be between 1 and \(Limits.bulkIntervalPoints). See the API docs for more information "
                    + "about request parameters.")
        }
        let limit = maxResults.map { Int($0) } ?? Limits.bulkIntervalPoints
        if (startStep == nil) != (endStep == nil) {
            throw MLflowError.invalid("If either start step or end step are specified, both must be specified.")
        }
        var range = ScanRange.all
        if let startStep, let endStep {
            guard startStep <= endStep else {
                throw MLflowError.invalid(
                    "end_step must be greater than start_step. Found start_step=\(startStep) and end_step=\(endStep).")
            }
            range = ScanRange(steps: startStep...endStep)
        }
        let ids = try bulkRuns(runs)
        var metrics: [WireMetric] = []
        for id in ids {
            try refreshIfForeign(id)
            guard (try info(id)).metrics[key] != nil else { continue }
            let points = try run { () throws(RunlogError) in
                try store.sample(id, key, maxPoints: limit, range: range, allowDamaged: allowDamaged)
            }
            for point in points {
                metrics.append(
                    WireMetric(
                        key: key, value: point.value, timestamp: point.timestamp, step: point.step,
                        run_id: id.description))
            }
        }
        return MetricsResponse(metrics: metrics, next_page_token: nil)
    }

    /// The runs of a bulk history, in run id order as MLflow answers them.
    private func bulkRuns(_ runs: [String]) throws(MLflowError) -> [RunID] {
        guard !runs.isEmpty else {
            throw MLflowError.invalid("GetMetricHistoryBulk request must specify at least one run_id.")
        }
        guard runs.count <= Limits.bulkRuns else {
            throw MLflowError.invalid(
                "GetMetricHistoryBulk request cannot specify more than \(Limits.bulkRuns) run_ids. Received \(runs.count) run_ids."
            )
        }
        return try runs.sorted().map { (text) throws(MLflowError) in try runID(text) }
    }

    /// The points of a run's metric; a metric the run lacks has none (as in MLflow).
    private func points(_ id: RunID, _ key: String, range: ScanRange, allowDamaged: Bool) throws(MLflowError)
        -> [MetricPoint]
    {
        guard (try info(id)).metrics[key] != nil else { return [] }
        return try run { () throws(RunlogError) in
            try store.history(of: id, key, range: range, allowDamaged: allowDamaged)
        }
    }
}

/// The offset of the next page of a history, opaque to the client.
enum HistoryPageToken {
    static func make(_ offset: Int) -> String { Data("h1:\(offset)".utf8).base64EncodedString() }

    static func offset(_ token: String?) throws(MLflowError) -> Int {
        guard let token, !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token),
            case let text = String(decoding: data, as: UTF8.self), text.hasPrefix("h1:"),
            let offset = Int(text.dropFirst(3)), offset >= 0
        else { throw MLflowError.invalid("Invalid page token '\(token.prefix(60))'") }
        return offset
    }
}
