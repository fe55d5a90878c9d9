import Runlog

/// An experiment in MLflow's shape.
struct WireExperiment: Encodable, Sendable {
    let experiment_id: String
    let name: String
    let artifact_location: String
    let lifecycle_stage: String
    let last_update_time: Int64
    let creation_time: Int64
    let tags: [KeyValue]

    init(_ experiment: Experiment) {
        experiment_id = experiment.id
        name = experiment.name
        artifact_location = "mlflow-artifacts:/\(experiment.id)"
        lifecycle_stage = experiment.lifecycle.rawValue
        last_update_time = experiment.lastUpdateTime ?? experiment.creationTime
        creation_time = experiment.creationTime
        tags = KeyValue.list(experiment.tags)
    }
}

struct CreateExperimentRequest: Decodable {
    let name: String?
    let artifact_location: String?
    let tags: [KeyValue]?
}

struct CreateExperimentResponse: Encodable {
    let experiment_id: String
}

struct ExperimentResponse: Encodable {
    let experiment: WireExperiment
}

struct SearchExperimentsRequest: Decodable {
    let max_results: Int64?
    let page_token: String?
    let filter: String?
    let order_by: [String]?
    let view_type: String?
}

struct SearchExperimentsResponse: Encodable {
    let experiments: [WireExperiment]
    let next_page_token: String?
}

struct ExperimentIDRequest: Decodable {
    let experiment_id: String?
}

struct UpdateExperimentRequest: Decodable {
    let experiment_id: String?
    let new_name: String?
}

struct ExperimentTagRequest: Decodable {
    let experiment_id: String?
    let key: String?
    let value: String?
}

/// `{}`: what MLflow answers for calls that return nothing.
struct Empty: Codable, Sendable {}
