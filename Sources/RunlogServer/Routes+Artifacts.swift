import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Runlog

/// Artifacts as MLflow's artifact proxy serves them: `PUT` and `GET`
/// `/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>`, the listing at
/// `/api/2.0/mlflow-artifacts/artifacts?path=…`, and `/api/2.0/mlflow/artifacts/list?run_id=…`.
extension Routes {
    static let artifactPrefixes = ["/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts"]

    func registerArtifacts(on router: Router<BasicRequestContext>) {
        let adapter = adapter
        let pool = pool
        for prefix in Self.artifactPrefixes {
            router.put(RouterPath(prefix + "/**")) { request, _ -> Response in
                let location = try ArtifactLocation(request, after: prefix)
                try await pool.runIfActive { try adapter.checkWritable(location) }
                let incoming = try await Self.receive(request, into: adapter.incomingFile())
                return try await Self.publish(incoming, at: location, adapter, pool)
            }
            router.get(RouterPath(prefix + "/**")) { request, _ -> Response in
                let location = try ArtifactLocation(request, after: prefix)
                let file = try await pool.runIfActive { try adapter.artifactFile(location) }
                return try Self.download(file)
            }
            router.get(RouterPath(prefix)) { request, _ -> Response in
                let query = Query(request)
                return try await pool.runIfActive {
                    try Self.json(try adapter.listArtifacts(proxyPath: query.string("path")))
                }
            }
        }
        for prefix in Self.prefixes {
            router.get(RouterPath(prefix + "artifacts/list")) { request, _ -> Response in
                let query = Query(request)
                return try await pool.runIfActive {
                    try Self.json(
                        try adapter.listArtifacts(
                            run: query.string("run_id") ?? query.string("run_uuid"), path: query.string("path")))
                }
            }
        }
    }

    /// Makes the received file `incoming` the artifact at `location`; removes it when that fails.
    static func publish(
        _ incoming: String, at location: ArtifactLocation, _ adapter: StoreAdapter, _ pool: NIOThreadPool
    )
        async throws -> Response
    {
        do {
            try await pool.runIfActive { try adapter.storeArtifact(location, file: incoming) }
        } catch {
            unlink(incoming)
            throw error
        }
        return try Self.json(Empty())
    }

    /// Streams the request body into the new file `path`; returns it.
    static func receive(_ request: Request, into path: String) async throws -> String {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw MLflowError(.internalError, "creating \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        do {
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { bytes in
                    var done = 0
                    while done < bytes.count {
                        let wrote = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                        guard wrote > 0 else {
                            throw MLflowError(.internalError, "writing \(path): \(String(cString: strerror(errno)))")
                        }
                        done += wrote
                    }
                }
            }
        } catch {
            unlink(path)
            throw error
        }
        return path
    }

    /// The file's bytes, read a chunk at a time as the client takes them.
    static func download(_ file: (Artifact, String)) throws -> Response {
        let (artifact, path) = file
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            throw MLflowError(.resourceDoesNotExist, "artifact \(artifact.path) is recorded but its file is missing")
        }
        let body = ResponseBody(contentLength: Int(artifact.size)) { writer in
            defer { close(descriptor) }
            var offset: off_t = 0
            var buffer = ByteBufferAllocator().buffer(capacity: 1 << 16)
            while Int64(offset) < artifact.size {
                buffer.clear()
                let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { bytes in
                    max(
                        0,
                        pread(
                            descriptor, bytes.baseAddress, min(bytes.count, Int(artifact.size - Int64(offset))), offset)
                    )
                }
                guard got > 0 else { break }
                offset += off_t(got)
                try await writer.write(buffer)
            }
            try await writer.finish(nil)
        }
        // An artifact is data, never a page or a script of this origin: no sniffing, a download,
        // and a sandbox should a browser render it anyway.
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                .contentDisposition: "attachment", .contentSecurityPolicy: "sandbox; default-src 'none'",
            ], body: body)
    }
}

/// `<experiment>/<run>/artifacts/<path>` or `<experiment>/models/<model id>/artifacts/<path>` of an
/// artifact URL, percent-decoded and checked.
struct ArtifactLocation: Sendable {
    /// Whose files: a run's, or a logged model's.
    enum Owner: Sendable, Equatable {
        case run(RunID)
        case model(String)
    }

    let experimentID: String
    let owner: Owner
    /// Empty for the owner's artifact root.
    let path: String

    /// The location in the request's path after `prefix`, every segment kept (the router's
    /// catch-all drops empty ones, which would hide `a//b`).
    init(_ request: Request, after prefix: String) throws(MLflowError) {
        let rest = request.uri.path.dropFirst(prefix.count + 1)
        var decoded: [String] = []
        for segment in rest.split(separator: "/", omittingEmptySubsequences: false) {
            guard let text = segment.removingPercentEncoding, !text.contains("/") || segment == text else {
                throw MLflowError.invalid("artifact path segment '\(segment.prefix(80))' is not valid")
            }
            decoded += text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        }
        try self.init(decoded, allowRoot: false)
    }

    /// The location of decoded segments (a listing's `path`, which the query string decoded).
    init(_ decoded: [String], allowRoot: Bool) throws(MLflowError) {
        let root: Int
        if decoded.count >= 4, decoded[1] == "models", decoded[3] == "artifacts", decoded[2].hasPrefix("m-") {
            owner = .model(decoded[2])
            root = 4
        } else if decoded.count >= 3, decoded[2] == "artifacts", let run = RunID(decoded[1]) {
            owner = .run(run)
            root = 3
        } else {
            throw MLflowError.invalid(
                "artifact paths are <experiment id>/<run id>/artifacts/<path>, not '\(decoded.joined(separator: "/").prefix(200))'"
            )
        }
        guard decoded.count >= root + (allowRoot ? 0 : 1) else {
            throw MLflowError.invalid("artifact path '\(decoded.joined(separator: "/").prefix(200))' names no file")
        }
        experimentID = decoded[0]
        path = decoded.dropFirst(root).joined(separator: "/")
        if !path.isEmpty { try StoreAdapter.checkPath(path) }
    }
}

extension StoreAdapter {
    /// Where uploads are received before they become artifacts (inside the store, so that a
    /// rename moves them).
    func incomingDirectory() throws -> String {
        let directory = store.path + "/artifacts/.incoming"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A new file name in `incomingDirectory()`, with this process's pid in it: a later start tells
    /// an abandoned upload from a live one by it (`TrackingStore.removeAbandonedUploads`).
    func incomingFile() throws -> String {
        try incomingDirectory() + "/upload-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }

    func checkWritable(_ location: ArtifactLocation) throws(MLflowError) {
        switch location.owner {
        case .run(let id):
            let info = try info(id)
            guard info.experimentID == location.experimentID else {
                throw MLflowError(.resourceDoesNotExist, "Run '\(id)' is not in experiment \(location.experimentID)")
            }
            guard info.lifecycle == .active else {
                throw MLflowError.invalid("The run \(id) must be in the 'active' state. Current state is deleted.")
            }
        case .model(let id):
            _ = try loggedModel(id, in: location.experimentID)
        }
    }

    func storeArtifact(_ location: ArtifactLocation, file: String) throws(MLflowError) {
        try checkWritable(location)
        switch location.owner {
        case .run(let id):
            try run { () throws(RunlogError) in
                try writers.with(id) { (run) throws(RunlogError) in
                    _ = try run.logArtifact(file: file, path: location.path, moving: true)  // flushes
                }
            }
        case .model(let id):
            try run { () throws(RunlogError) in
                _ = try models.keepArtifact(file: file, path: location.path, of: id, moving: true)
            }
        }
    }

    func artifactFile(_ location: ArtifactLocation) throws(MLflowError) -> (Artifact, String) {
        let file: (Artifact, String)?
        switch location.owner {
        case .run(let id):
            try refreshIfForeign(id)
            guard (try info(id)).experimentID == location.experimentID else { file = nil; break }
            file = try run { () throws(RunlogError) in try store.artifactFile(of: id, location.path) }
        case .model(let id):
            _ = try loggedModel(id, in: location.experimentID)
            file = try run { () throws(RunlogError) in try models.artifactFile(of: id, location.path) }
        }
        guard let file else {
            throw MLflowError(.resourceDoesNotExist, "No such artifact: '\(location.path)'")
        }
        return file
    }

    /// The proxy's listing: entries directly under `path`, named by their last segment.
    func listArtifacts(proxyPath: String?) throws(MLflowError) -> ListArtifactsResponse {
        guard let proxyPath, !proxyPath.isEmpty else { return ListArtifactsResponse(files: []) }
        // `.` names the directory it is in (the client lists `…/artifacts/.` to download a whole run).
        let segments = proxyPath.split(separator: "/").filter { $0 != "." }.map(String.init)
        let location = try ArtifactLocation(segments, allowRoot: true)
        let entries: [(path: String, isDirectory: Bool, size: Int64?)]
        switch location.owner {
        case .run(let id):
            try refreshIfForeign(id)
            entries = try run { () throws(RunlogError) in try store.listArtifacts(of: id, under: location.path) }
        case .model(let id):
            _ = try loggedModel(id, in: location.experimentID)
            entries = try run { () throws(RunlogError) in try models.listArtifacts(of: id, under: location.path) }
        }
        return ListArtifactsResponse(
            files: entries.map { entry in
                WireFileInfo(
                    path: String(entry.path.split(separator: "/").last!), is_dir: entry.isDirectory,
                    file_size: entry.size)
            })
    }

    /// The tracking API's listing: paths relative to the run's artifact root.
    func listArtifacts(run text: String?, path: String?) throws(MLflowError) -> ListArtifactsResponse {
        let id = try runID(text)
        try refreshIfForeign(id)
        let info = try info(id)
        let directory = Self.relative(path)
        if !directory.isEmpty { try Self.checkPath(directory) }
        let entries = try run { () throws(RunlogError) in try store.listArtifacts(of: id, under: directory) }
        return ListArtifactsResponse(
            root_uri: "mlflow-artifacts:/\(info.experimentID)/\(id)/artifacts",
            files: entries.map { WireFileInfo(path: $0.path, is_dir: $0.isDirectory, file_size: $0.size) })
    }

    /// An artifact path MLflow's server would take (`validate_path_is_safe`) and Runlog's rules
    /// allow (`ArtifactPath`: relative, no empty, `.` or `..` segment, no control character); any
    /// other is "Invalid path", MLflow's words.
    static func checkPath(_ path: String) throws(MLflowError) {
        guard !path.contains("#"), (try? ArtifactPath.check(path)) != nil else {
            throw MLflowError.invalid("Invalid path")
        }
    }

    /// A live logged model of `experimentID`, for its artifact routes.
    private func loggedModel(_ id: String, in experimentID: String) throws(MLflowError) -> LoggedModel {
        let model = try modelRead { () throws(RunlogError) in try models.loggedModel(id) }
        guard model.experimentID == experimentID else {
            throw MLflowError(.resourceDoesNotExist, "Logged model '\(id)' is not in experiment \(experimentID)")
        }
        return model
    }
}
