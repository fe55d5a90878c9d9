/// Whether an experiment or run is live or soft-deleted (hidden from default listings).
public enum Lifecycle: String, Sendable, Hashable, Codable {
    case active
    case deleted
}

/// A named group of runs.
public struct Experiment: Sendable, Hashable, Codable {
    public let id: String
    public internal(set) var name: String
    /// Milliseconds since the Unix epoch.
    public let creationTime: Int64
    /// When the experiment was last renamed, tagged, deleted or restored; nil in files written
    /// before it was recorded.
    public internal(set) var lastUpdateTime: Int64?
    public var lifecycle: Lifecycle
    public var tags: [String: String]

    public init(id: String, name: String, creationTime: Int64, lifecycle: Lifecycle, tags: [String: String]) {
        self.id = id
        self.name = name
        self.creationTime = creationTime
        self.lifecycle = lifecycle
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case id = "experiment_id"
        case name
        case creationTime = "creation_time"
        case lastUpdateTime = "last_update_time"
        case lifecycle = "lifecycle_stage"
        case tags
    }

    /// Experiment ids are 1–64 characters of letters, digits, `_` and `-`: safe as a directory name.
    static func validateID(_ id: String) throws(RunlogError) {
        guard !id.isEmpty, id.count <= 64,
            id.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            })
        else { throw RunlogError(.invalidArgument, "\"\(id.prefix(80))\" is not an experiment id") }
    }
}
