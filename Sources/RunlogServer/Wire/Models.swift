import Foundation
import Runlog

// Logged models (MLflow 3) and the model registry, in MLflow's JSON shapes.

struct WireLoggedModelMetric: Encodable, Sendable {
    let key: String
    let value: Double
    let timestamp: Int64
    let step: Int64
    let dataset_name: String?
    let dataset_digest: String?
    let model_id: String
    let run_id: String?
}

struct WireLoggedModel: Encodable, Sendable {
    struct Info: Encodable, Sendable {
        let model_id: String
        let experiment_id: String
        let name: String
        let creation_timestamp_ms: Int64
        let last_updated_timestamp_ms: Int64
        let artifact_uri: String
        let status: String
        let status_message: String?
        let model_type: String
        let source_run_id: String?
        let tags: [KeyValue]
    }

    struct Data: Encodable, Sendable {
        let params: [KeyValue]
        let metrics: [WireLoggedModelMetric]
    }

    let info: Info
    let data: Data

    init(_ model: LoggedModel) {
        info = Info(
            model_id: model.id, experiment_id: model.experimentID, name: model.name,
            creation_timestamp_ms: model.creationTime, last_updated_timestamp_ms: model.lastUpdatedTime,
            artifact_uri: model.artifactURI, status: model.status.rawValue,
            status_message: model.statusMessage.isEmpty ? nil : model.statusMessage, model_type: model.modelType,
            source_run_id: model.sourceRunID, tags: KeyValue.list(model.tags))
        data = Data(
            params: KeyValue.list(model.params),
            metrics: model.metrics.map { m in
                WireLoggedModelMetric(
                    key: m.key, value: m.value, timestamp: m.timestamp, step: m.step, dataset_name: m.datasetName,
                    dataset_digest: m.datasetDigest, model_id: model.id, run_id: m.runID)
            })
    }
}

struct LoggedModelResponse: Encodable {
    let model: WireLoggedModel
}

struct CreateLoggedModelRequest: Decodable {
    let experiment_id: String?
    let name: String?
    let model_type: String?
    let source_run_id: String?
    let params: [KeyValue]?
    let tags: [KeyValue]?
}

struct FinalizeLoggedModelRequest: Decodable {
    let model_id: String?
    /// By name (`"LOGGED_MODEL_READY"`) or by number (2), as protobuf's JSON takes an enum.
    let status: TextOrNumber?
}

struct LoggedModelTagsRequest: Decodable {
    let tags: [KeyValue]?
}

struct LoggedModelParamsRequest: Decodable {
    let params: [KeyValue]?
}

struct SearchLoggedModelsRequest: Decodable {
    struct Order: Decodable {
        let field_name: String?
        let ascending: Bool?
    }

    struct Dataset: Decodable {
        let dataset_name: String?
        let dataset_digest: String?
    }

    let experiment_ids: [String]?
    let filter: String?
    let datasets: [Dataset]?
    let max_results: Int64?
    let order_by: [Order]?
    let page_token: String?
}

struct SearchLoggedModelsResponse: Encodable {
    let models: [WireLoggedModel]
    let next_page_token: String?
}

struct LogOutputsRequest: Decodable {
    struct Output: Decodable {
        let model_id: String?
        let step: Int64?
    }

    let run_id: String?
    let models: [Output]?
}

struct ListModelArtifactsResponse: Encodable {
    let root_uri: String
    let files: [WireFileInfo]
}

// MARK: Registry

struct WireModelVersion: Encodable, Sendable {
    let name: String
    let version: String
    let creation_timestamp: Int64
    let last_updated_timestamp: Int64
    let current_stage: String
    let description: String
    let source: String
    let run_id: String
    let status: String
    let run_link: String
    let tags: [KeyValue]?
    let aliases: [String]?
    let model_id: String?

    /// `aliases`: whether to say them (MLflow's get and alias lookups do; its searches do not).
    init(_ version: ModelVersion, aliases: Bool = true) {
        name = version.name
        self.version = String(version.version)
        creation_timestamp = version.creationTime
        last_updated_timestamp = version.lastUpdatedTime
        current_stage = version.stage.rawValue
        description = version.description
        source = version.source
        run_id = version.runID
        status = "READY"
        run_link = version.runLink
        tags = version.tags.isEmpty ? nil : KeyValue.list(version.tags)
        self.aliases = aliases && !version.aliases.isEmpty ? version.aliases : nil
        model_id = version.modelID
    }
}

struct WireAlias: Encodable, Sendable {
    let alias: String
    let version: String
}

struct WireRegisteredModel: Encodable, Sendable {
    let name: String
    let creation_timestamp: Int64
    let last_updated_timestamp: Int64
    let description: String?
    let latest_versions: [WireModelVersion]?
    let tags: [KeyValue]?
    let aliases: [WireAlias]?

    init(_ model: RegisteredModel) {
        name = model.name
        creation_timestamp = model.creationTime
        last_updated_timestamp = model.lastUpdatedTime
        description = model.description.isEmpty ? nil : model.description
        let latest = model.latestVersions
        latest_versions = latest.isEmpty ? nil : latest.map { WireModelVersion($0, aliases: false) }
        tags = model.tags.isEmpty ? nil : KeyValue.list(model.tags)
        aliases =
            model.aliases.isEmpty
            ? nil : model.aliases.sorted { $0.key < $1.key }.map { WireAlias(alias: $0.key, version: String($0.value)) }
    }
}

struct RegisteredModelResponse: Encodable {
    let registered_model: WireRegisteredModel
}

struct ModelVersionResponse: Encodable {
    let model_version: WireModelVersion
}

struct RegisteredModelRequest: Decodable {
    let name: String?
    let new_name: String?
    let description: String?
    let tags: [KeyValue]?
    let key: String?
    let value: String?
    let alias: String?
    let version: TextOrNumber?
    let stages: [String]?
}

/// A value protobuf's JSON sends as a string or a number: a version ("1" or 1), an enum.
enum TextOrNumber: Decodable, Sendable {
    case text(String)
    case number(Int64)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    var text: String {
        switch self {
        case .text(let text): text
        case .number(let number): String(number)
        }
    }
}

struct ModelVersionRequest: Decodable {
    let name: String?
    let version: TextOrNumber?
    let source: String?
    let run_id: String?
    let model_id: String?
    let description: String?
    let tags: [KeyValue]?
    let run_link: String?
    let key: String?
    let value: String?
    let stage: String?
    let archive_existing_versions: Bool?
}

struct SearchRegisteredModelsResponse: Encodable {
    let registered_models: [WireRegisteredModel]
    let next_page_token: String?
}

struct SearchModelVersionsResponse: Encodable {
    let model_versions: [WireModelVersion]
    let next_page_token: String?
}

struct LatestVersionsResponse: Encodable {
    let model_versions: [WireModelVersion]
}

struct DownloadURIResponse: Encodable {
    let artifact_uri: String
}
