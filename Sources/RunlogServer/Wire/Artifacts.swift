struct WireFileInfo: Encodable, Sendable {
    let path: String
    let is_dir: Bool
    let file_size: Int64?
}

struct ListArtifactsResponse: Encodable {
    var root_uri: String?
    let files: [WireFileInfo]
}

/// The answer to `logged-models/search`: this server keeps no logged models.
struct NoLoggedModels: Codable, Sendable {
    var models: [String] = []
}
