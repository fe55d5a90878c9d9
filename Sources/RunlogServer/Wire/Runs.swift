import Foundation
import Runlog

struct WireRunInfo: Encodable, Sendable {
    let run_id: String
    let run_uuid: String
    let run_name: String
    let experiment_id: String
    let user_id: String
    let status: String
    let start_time: Int64?
    let end_time: Int64?
    let artifact_uri: String
    let lifecycle_stage: String

    init(_ run: RunInfo) {
        run_id = run.id.description
        run_uuid = run_id
        run_name = run.name
        experiment_id = run.experimentID
        user_id = run.userID
        status = run.status.description
        start_time = run.startTime
        end_time = run.endTime
        artifact_uri = "mlflow-artifacts:/\(run.experimentID)/\(run.id)/artifacts"
        lifecycle_stage = run.lifecycle.rawValue
    }
}

struct WireRunData: Encodable, Sendable {
    let metrics: [WireMetric]
    let params: [KeyValue]
    let tags: [KeyValue]
}

struct WireDataset: Codable, Sendable {
    let name: String
    let digest: String
    let source_type: String
    let source: String
    var schema: String?
    var profile: String?
}

struct WireDatasetInput: Codable, Sendable {
    var tags: [KeyValue]?
    let dataset: WireDataset
}

struct WireRunOutputs: Encodable, Sendable {
    let model_outputs: [ModelOutput]
}

struct WireModelInput: Encodable, Sendable {
    let model_id: String
}

struct WireRunInputs: Encodable, Sendable {
    let dataset_inputs: [WireDatasetInput]
    var model_inputs: [WireModelInput] = []
}

/// A run in MLflow's shape: `data.metrics` holds each metric's latest point.
struct WireRun: Encodable, Sendable {
    let info: WireRunInfo
    let data: WireRunData
    let inputs: WireRunInputs
    let outputs: WireRunOutputs

    init(_ run: RunInfo) {
        outputs = WireRunOutputs(model_outputs: run.modelOutputs)
        info = WireRunInfo(run)
        data = WireRunData(
            metrics: run.metrics.keys.sorted().map { key in
                let last = run.metrics[key]!.last
                return WireMetric(key: key, value: last.value, timestamp: last.timestamp, step: last.step)
            },
            params: KeyValue.list(run.params), tags: KeyValue.list(Self.tags(run)))
        inputs = WireRunInputs(
            dataset_inputs: DatasetInput.all(in: run).map { input in
                WireDatasetInput(
                    tags: input.tags.isEmpty ? nil : KeyValue.list(input.tags),
                    dataset: WireDataset(
                        name: input.name, digest: input.fields["digest"] ?? "",
                        source_type: input.fields["source_type"] ?? "", source: input.fields["source"] ?? "",
                        schema: input.fields["schema"], profile: input.fields["profile"]))
            }, model_inputs: run.modelInputs.map(WireModelInput.init))
    }
}

extension WireRun {
    /// The tag a damaged run carries in every answer, so a client sees that what it reads of the
    /// run may be incomplete: each problem with its file and offset.
    static let damageTag = "runlog.damage"

    static func tags(_ run: RunInfo) -> [String: String] {
        guard !run.damage.isEmpty else { return run.tags }
        var tags = run.tags
        tags[damageTag] = run.damage.map(\.description).joined(separator: "; ")
        return tags
    }
}

struct RunResponse: Encodable {
    let run: WireRun
}

struct CreateRunRequest: Decodable {
    let experiment_id: String?
    let user_id: String?
    let run_name: String?
    let start_time: Int64?
    let tags: [KeyValue]?
}

struct UpdateRunRequest: Decodable {
    let run_id: String?
    let run_uuid: String?
    let status: String?
    let end_time: Int64?
    let run_name: String?
}

struct UpdateRunResponse: Encodable {
    let run_info: WireRunInfo
}

struct RunIDRequest: Decodable {
    let run_id: String?
    let run_uuid: String?
}

struct LogMetricRequest: Decodable {
    let run_id: String?
    let run_uuid: String?
    let key: String?
    let value: Double?
    let timestamp: Int64?
    let step: Int64?
    let model_id: String?
    let dataset_name: String?
    let dataset_digest: String?
}

struct KeyValueRequest: Decodable {
    let run_id: String?
    let run_uuid: String?
    let key: String?
    let value: String?
}

/// `log-batch`'s body. Read with `JSONReader`, not `Codable`: it is the one body that carries a
/// thousand points, and Foundation's decoder spent most of the server's instructions on it.
struct LogBatchRequest: Sendable {
    var run_id: String?
    var metrics: [IncomingMetric] = []
    var params: [KeyValue] = []
    var tags: [KeyValue] = []

    init(json data: Data) throws(MLflowError) {
        self = try JSONReader.read(data) { (reader) throws(MLflowError) in
            var request = LogBatchRequest()
            try reader.object { (reader, key) throws(MLflowError) in
                guard !reader.null() else { return }
                switch key {
                case "run_id": request.run_id = try reader.string()
                case "metrics":
                    var beyond = 0
                    var keys = JSONReader.StringCache()
                    // Room for as many metrics as the body could hold (one takes 30 bytes or more).
                    request.metrics.reserveCapacity(min(Limits.batchMetrics, data.count / 30))
                    try reader.array { (reader, _) throws(MLflowError) in
                        // Past the limit the batch is refused: count the rest without keeping it.
                        guard request.metrics.count < Limits.batchMetrics else {
                            beyond += 1
                            return try reader.skip()
                        }
                        request.metrics.append(try IncomingMetric(&reader, keys: &keys))
                    }
                    if beyond > 0 { throw LogBatchRequest.tooMany(Limits.batchMetrics + beyond, "metrics") }
                case "params": request.params = try KeyValue.list(&reader, limit: Limits.batchParams, "params")
                case "tags": request.tags = try KeyValue.list(&reader, limit: Limits.batchTags, "tags")
                default: try reader.skip()
                }
            }
            return request
        }
    }

    private init() {}

    /// MLflow's message for a batch with more metrics, params or tags than it takes.
    static func tooMany(_ count: Int, _ what: String) -> MLflowError {
        let limit = what == "metrics" ? Limits.batchMetrics : what == "params" ? Limits.batchParams : Limits.batchTags
        return MLflowError.invalid(
            "A batch logging request can contain at most \(limit) \(what). Got \(count) \(what). Please split up "
                + "\(what) across multiple requests and try again.")
    }
}

struct LogInputsRequest: Decodable {
    struct Model: Decodable {
        let model_id: String?
    }

    let run_id: String?
    let datasets: [WireDatasetInput]?
    let models: [Model]?
}

struct SearchRunsRequest: Decodable {
    let experiment_ids: [String]?
    let filter: String?
    let run_view_type: String?
    let max_results: Int64?
    let order_by: [String]?
    let page_token: String?
}

struct SearchRunsResponse: Encodable {
    let runs: [WireRun]
    let next_page_token: String?
}

struct MetricsResponse: Encodable {
    let metrics: [WireMetric]
    let next_page_token: String?
}
