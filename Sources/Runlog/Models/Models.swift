import Foundation

/// Where a logged model is in its life: created (files being uploaded), ready, or failed.
public enum LoggedModelStatus: String, Sendable, Codable, CaseIterable {
    case pending = "LOGGED_MODEL_PENDING"
    case ready = "LOGGED_MODEL_READY"
    case uploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"
}

/// A metric value linked to a logged model (MLflow logs a run's metrics with the model's id).
public struct LoggedModelMetric: Sendable, Codable, Hashable {
    public let key: String
    public let value: Double
    public let timestamp: Int64
    public let step: Int64
    public let runID: String?
    public let datasetName: String?
    public let datasetDigest: String?

    public init(
        key: String, value: Double, timestamp: Int64, step: Int64, runID: String?, datasetName: String? = nil,
        datasetDigest: String? = nil
    ) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step
        self.runID = runID
        self.datasetName = datasetName
        self.datasetDigest = datasetDigest
    }

    // NaN and ±Infinity are kept as text: JSON has no number for them.
    enum CodingKeys: String, CodingKey {
        case key, value, timestamp, step, runID = "run_id", datasetName = "dataset_name"
        case datasetDigest = "dataset_digest"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        if let text = try? c.decode(String.self, forKey: .value) {
            value = Double(text) ?? .nan
        } else {
            value = try c.decode(Double.self, forKey: .value)
        }
        timestamp = try c.decode(Int64.self, forKey: .timestamp)
        step = try c.decode(Int64.self, forKey: .step)
        runID = try c.decodeIfPresent(String.self, forKey: .runID)
        datasetName = try c.decodeIfPresent(String.self, forKey: .datasetName)
        datasetDigest = try c.decodeIfPresent(String.self, forKey: .datasetDigest)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        if value.isFinite { try c.encode(value, forKey: .value) } else { try c.encode("\(value)", forKey: .value) }
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(step, forKey: .step)
        try c.encodeIfPresent(runID, forKey: .runID)
        try c.encodeIfPresent(datasetName, forKey: .datasetName)
        try c.encodeIfPresent(datasetDigest, forKey: .datasetDigest)
    }
}

/// A model a run (or a script) logged: MLflow 3's `LoggedModel`. Its files are artifacts kept in
/// the store under `models/<id>/artifacts/`, each recorded with its size and SHA-256.
public struct LoggedModel: Sendable, Hashable {
    /// `m-` and 32 hex digits.
    public let id: String
    public let experimentID: String
    public let name: String
    public let modelType: String
    public let sourceRunID: String?
    public let creationTime: Int64
    public internal(set) var lastUpdatedTime: Int64
    public internal(set) var status: LoggedModelStatus
    public internal(set) var statusMessage: String
    public internal(set) var tags: [String: String]
    public internal(set) var params: [String: String]
    public internal(set) var metrics: [LoggedModelMetric]
    public internal(set) var artifacts: [String: Artifact]
    public internal(set) var deleted: Bool
    /// Its place in the order models were created (ties of creation time break on it).
    var sequence = 0

    /// `mlflow-artifacts:/<experiment>/models/<id>/artifacts`, where the client uploads its files.
    public var artifactURI: String { "mlflow-artifacts:/\(experimentID)/models/\(id)/artifacts" }
}

/// A model version's stage, from before aliases (MLflow keeps them, deprecated).
public enum ModelStage: String, Sendable, CaseIterable {
    case none = "None", staging = "Staging", production = "Production", archived = "Archived"

    /// Case-insensitive, as MLflow takes them.
    public init?(name: String) {
        guard let stage = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = stage
    }
}

/// One version of a registered model: a pointer to a logged model or a run's files.
public struct ModelVersion: Sendable, Hashable {
    public let name: String
    public let version: Int64
    public let creationTime: Int64
    public internal(set) var lastUpdatedTime: Int64
    public internal(set) var description: String
    public let source: String
    public let runID: String
    public let runLink: String
    public let modelID: String?
    public internal(set) var stage: ModelStage
    public internal(set) var tags: [String: String]
    /// Aliases pointing at this version (from its registered model).
    public internal(set) var aliases: [String]
}

/// A named model in the registry, with its versions, tags and aliases.
public struct RegisteredModel: Sendable, Hashable {
    public let name: String
    public let creationTime: Int64
    public internal(set) var lastUpdatedTime: Int64
    public internal(set) var description: String
    public internal(set) var tags: [String: String]
    /// Alias → version.
    public internal(set) var aliases: [String: Int64]
    /// Live versions, by number.
    public internal(set) var versions: [Int64: ModelVersion]
    /// The number the next version takes: versions are never renumbered or reused.
    var nextVersion: Int64

    /// The newest version in each stage, oldest stage first (MLflow's `latest_versions`).
    public var latestVersions: [ModelVersion] {
        ModelStage.allCases.compactMap { stage in
            versions.values.filter { $0.stage == stage }.max { $0.version < $1.version }
        }
    }

    /// A version with its aliases filled in.
    public func version(_ number: Int64) -> ModelVersion? {
        guard var version = versions[number] else { return nil }
        version.aliases = aliases.filter { $0.value == number }.map(\.key).sorted()
        return version
    }
}
