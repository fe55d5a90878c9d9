struct WireFileInfo: Encodable, Sendable {
    let path: String
    let is_dir: Bool
    let file_size: Int64?
}

struct ListArtifactsResponse: Encodable {
    var root_uri: String?
    let files: [WireFileInfo]
}
