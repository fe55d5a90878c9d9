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

struct WireRunInputs: Encodable, Sendable {
    let dataset_inputs: [WireDatasetInput]
}

/// A run in MLflow's shape: `data.metrics` holds each metric's latest point.
struct WireRun: Encodable, Sendable {
    let info: WireRunInfo
    let data: WireRunData
    let inputs: WireRunInputs

    init(_ run: RunInfo) {
        info = WireRunInfo(run)
        data = WireRunData(
            metrics: run.metrics.keys.sorted().map { key in
                let last = run.metrics[key]!.last
                return WireMetric(key: key, value: last.value, timestamp: last.timestamp, step: last.step)
            },
            params: KeyValue.list(run.params), tags: KeyValue.list(run.tags))
        inputs = WireRunInputs(
            dataset_inputs: DatasetInput.all(in: run).map { input in
                WireDatasetInput(
                    tags: input.tags.isEmpty ? nil : KeyValue.list(input.tags),
                    dataset: WireDataset(
                        name: input.name, digest: input.fields["digest"] ?? "",
                        source_type: input.fields["source_type"] ?? "", source: input.fields["source"] ?? "",
                        schema: input.fields["schema"], profile: input.fields["profile"]))
            })
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
}

struct KeyValueRequest: Decodable {
    let run_id: String?
    let run_uuid: String?
    let key: String?
    let value: String?
}

struct LogBatchRequest: Decodable {
    let run_id: String?
    let metrics: [IncomingMetric]?
    let params: [KeyValue]?
    let tags: [KeyValue]?
}

struct LogInputsRequest: Decodable {
    let run_id: String?
    let datasets: [WireDatasetInput]?
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
