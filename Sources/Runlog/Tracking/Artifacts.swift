import Foundation
import RunlogStore

/// A file kept with a run: a model, a config, a plot. Its bytes live in the store under the run
/// (`artifacts/<run id>/<path>`); the run's log records its path, size and SHA-256, so listings and
/// `verify` know it without reading the file.
public struct Artifact: Sendable, Hashable, Codable {
    /// Relative, `/`-separated: `model/weights.bin`.
    public let path: String
    public let size: Int64
    /// Lowercase hex.
    public let sha256: String

    /// The artifact a run's `artifact` attribute records, or nil for a value that is not one.
    init?(recorded value: String) {
        guard let artifact = try? JSONDecoder().decode(Artifact.self, from: Data(value.utf8)),
            (try? ArtifactPath.check(artifact.path)) != nil
        else { return nil }
        self = artifact
    }

    init(path: String, size: Int64, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }

    var recorded: String { Validation.canonicalJSON(self) }
}

/// Names of the run attributes the tracking layer records beside `experiment_id` and `run_name`.
enum RunAttribute {
    /// A tag removed (`ActiveRun.deleteTag`); its value is the tag's key.
    static let deletedTag = "deleted_tag"
    /// An artifact stored; its value is the `Artifact` as JSON.
    static let artifact = "artifact"
    static let userID = "user_id"
    /// A logged model the run produced; its value is the `ModelOutput` as JSON.
    static let modelOutput = "model_output"
    /// A logged model the run used (MLflow's `model_inputs`); its value is the model's id.
    static let modelInput = "model_input"
}

/// A logged model a run produced, and the step it was produced at.
public struct ModelOutput: Sendable, Hashable, Codable {
    public let modelID: String
    public let step: Int64

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id"
        case step
    }

    public init(modelID: String, step: Int64) {
        self.modelID = modelID
        self.step = step
    }

    init?(recorded value: String) {
        guard let output = try? JSONDecoder().decode(ModelOutput.self, from: Data(value.utf8)) else { return nil }
        self = output
    }
}

/// The rules an artifact path follows: relative, 1–1,000 bytes, no empty, `.` or `..` segment, no
/// NUL, backslash or control character. Nothing that names a place outside the run's directory.
public enum ArtifactPath {
    public static let maxBytes = 1000

    public static func check(_ path: String) throws(RunlogError) {
        guard !path.isEmpty else { throw RunlogError(.invalidArgument, "artifact path is empty") }
        guard path.utf8.count <= maxBytes else {
            throw RunlogError(
                .invalidArgument, "artifact path is \(path.utf8.count) bytes; the limit is \(maxBytes)")
        }
        guard !path.hasPrefix("/") else {
            throw RunlogError(.invalidArgument, "artifact path \(Validation.quoted(path)) is absolute")
        }
        if let bad = path.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0 == "\\" }) {
            throw RunlogError(
                .invalidArgument,
                "artifact path \(Validation.quoted(path)) contains U+\(String(bad.value, radix: 16, uppercase: true))")
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." {
                throw RunlogError(
                    .invalidArgument,
                    "artifact path \(Validation.quoted(path)) has a \"\(segment)\" segment; paths are relative, "
                        + "without empty, . or .. segments")
            }
        }
    }
}

extension TrackingStore {
    /// Where a run's artifacts live: `<store>/artifacts/<run id>`.
    public func artifactDirectory(of run: RunID) -> String { ArtifactFiles.directory(of: run, in: path) }

    /// The file holding a run's artifact, for reading; nil when the run recorded no such artifact.
    public func artifactFile(of run: RunID, _ artifactPath: String) throws(RunlogError) -> (Artifact, String)? {
        try ArtifactPath.check(artifactPath)
        guard let artifact = try self.run(run).artifacts[artifactPath] else { return nil }
        return (artifact, artifactDirectory(of: run) + "/" + artifactPath)
    }

    /// The artifacts of `run` directly under `directory` ("" for the top): files, and the
    /// directories that hold deeper files, each once.
    public func listArtifacts(of run: RunID, under directory: String = "") throws(RunlogError)
        -> [(path: String, isDirectory: Bool, size: Int64?)]
    {
        try ArtifactListing.entries(of: try self.run(run).artifacts, under: directory)
    }
}

/// Listings of recorded artifacts (a run's or a logged model's), from the record alone.
enum ArtifactListing {
    /// The files directly under `directory` ("" for the top), and the directories that hold deeper
    /// files, each once, sorted by path.
    static func entries(of artifacts: [String: Artifact], under directory: String) throws(RunlogError)
        -> [(path: String, isDirectory: Bool, size: Int64?)]
    {
        if !directory.isEmpty { try ArtifactPath.check(directory) }
        let prefix = directory.isEmpty ? "" : directory + "/"
        var files: [String: Int64] = [:]
        var directories: Set<String> = []
        for (path, artifact) in artifacts where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                directories.insert(prefix + rest[..<slash])
            } else {
                files[path] = artifact.size
            }
        }
        let entries =
            files.map { (path: $0.key, isDirectory: false, size: Optional($0.value)) }
            + directories.map { (path: $0, isDirectory: true, size: nil) }
        return entries.sorted { $0.path < $1.path }
    }
}

extension TrackingStore {
    /// Removes what writers that died mid-upload left under `artifacts/` and `models/`: temporary
    /// files (`.tmp-<pid>-…`, `upload-<pid>-…` in `artifacts/.incoming`) whose process is gone,
    /// and uploads named without a pid (older servers) once they are an hour old. A live process's
    /// files are left alone. Returns the paths removed.
    @discardableResult
    public func removeAbandonedUploads() -> [String] {
        var removed: [String] = []
        let hourAgo = Date().addingTimeInterval(-3600)
        for root in [path + "/artifacts", path + "/models"] {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = walker.nextObject() as? String {
                let name = relative.split(separator: "/").last.map(String.init) ?? relative
                let inIncoming = relative.hasPrefix(".incoming/")
                guard name.hasPrefix(".tmp-") || (inIncoming && name.hasPrefix("upload-")) else { continue }
                let file = root + "/" + relative
                var info = stat()
                guard lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
                let fields = name.drop { $0 != "-" }.dropFirst().split(separator: "-")
                let abandoned: Bool
                if fields.count >= 2, let pid = Int32(fields[0]) {
                    abandoned = kill(pid, 0) != 0 && errno == ESRCH
                } else {
                    abandoned = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)) < hourAgo
                }
                if abandoned, unlink(file) == 0 { removed.append(file) }
            }
        }
        return removed
    }

    /// Checks each artifact the run recorded against its file: present, a regular file, of the
    /// recorded size and SHA-256. Returns one line a problem ("artifact cfg/a.json: …"), none
    /// when all is well.
    public func verifyArtifacts(of run: RunID) throws(RunlogError) -> [String] {
        ArtifactFiles.verify(try self.run(run).artifacts, in: artifactDirectory(of: run))
    }
}

extension ActiveRun {
    /// Keeps the file at `file` as the run's artifact `path` (`model/weights.bin`): copies it into
    /// the store (fsynced, renamed into place), then records path, size and SHA-256 in the run's
    /// log and flushes. With `moving`, the file is renamed instead of copied when it is on the
    /// store's file system. Storing a path again replaces the file.
    @discardableResult
    public func logArtifact(file: String, path artifactPath: String, moving: Bool = false) throws(RunlogError)
        -> Artifact
    {
        let artifact = try ArtifactFiles.keep(
            file, as: artifactPath, of: id, in: catalog.engine.path, moving: moving, followingLinks: true)
        try append(
            .attribute(key: RunAttribute.artifact, value: artifact.recorded, timestamp: currentTimeMilliseconds()))
        try flush()
        return artifact
    }

}

/// File work for artifacts, with POSIX calls: directories made one at a time and checked never to
/// be links, so nothing is written outside the store.
enum ArtifactFiles {
    /// `<store>/artifacts/<run id>`.
    static func directory(of run: RunID, in store: String) -> String { store + "/artifacts/" + run.description }

    /// Copies (or moves) `source` into the store as artifact `artifactPath` of `run`: written to
    /// a temporary file, fsynced, renamed into place. Recording it in the run's log is the
    /// caller's part. Without `followingLinks`, a source that is a symbolic link is refused.
    static func keep(
        _ source: String, as artifactPath: String, of run: RunID, in store: String, moving: Bool,
        followingLinks: Bool
    ) throws(RunlogError) -> Artifact {
        try keep(
            source, as: artifactPath, into: directory(of: run, in: store), in: store, moving: moving,
            followingLinks: followingLinks)
    }

    /// Copies (or moves) `source` to `artifactPath` under `root` (a directory inside `store`):
    /// written to a temporary file, fsynced, renamed into place.
    static func keep(
        _ source: String, as artifactPath: String, into root: String, in store: String, moving: Bool,
        followingLinks: Bool
    ) throws(RunlogError) -> Artifact {
        try ArtifactPath.check(artifactPath)
        let destination = root + "/" + artifactPath
        let parent = String(destination[..<destination.lastIndex(of: "/")!])
        try makeDirectories(parent, below: store)
        let temporary = parent + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let (size, digest) = try copy(source, to: temporary, moving: moving, followingLinks: followingLinks)
        do {
            try install(temporary, at: destination, syncing: parent)
        } catch {
            unlink(temporary)
            throw error
        }
        return Artifact(path: artifactPath, size: size, sha256: digest)
    }

    static func makeDirectories(_ directory: String, below root: String) throws(RunlogError) {
        precondition(directory.hasPrefix(root + "/"), "artifact directory \(directory) is outside \(root)")
        var current = root
        for component in directory.dropFirst(root.count + 1).split(separator: "/") {
            current += "/" + component
            var info = stat()
            if lstat(current, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw RunlogError(
                        .invalidArgument, "\(current) is not a directory (a link or a file is in the way)")
                }
                continue
            }
            guard errno == ENOENT, mkdir(current, 0o755) == 0 || errno == EEXIST else {
                throw RunlogError(.storage, "creating \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Copies (or, `moving`, renames where it can) `source` to `destination`, fsynced; returns
    /// its size and SHA-256.
    static func copy(_ source: String, to destination: String, moving: Bool, followingLinks: Bool)
        throws(RunlogError) -> (Int64, String)
    {
        let input = open(source, O_RDONLY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        guard input >= 0 else {
            if errno == ELOOP { throw RunlogError(.invalidArgument, "\(source) is a symbolic link") }
            throw failure("opening \(source)")
        }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw RunlogError(.invalidArgument, "\(source) is not a regular file")
        }
        if moving, Glibc.rename(source, destination) == 0 {
            // The descriptor still reads the moved file: hash it, and make it durable.
            let (size, digest) = try digest(input, source) { (_: UnsafeRawBufferPointer) throws(RunlogError) in }
            guard fsync(input) == 0 else { throw failure("syncing \(destination)") }
            return (size, digest)
        }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard output >= 0 else { throw failure("creating \(destination)") }
        do throws(RunlogError) {
            let result = try digest(input, source) { (chunk) throws(RunlogError) in
                var done = 0
                while done < chunk.count {
                    let wrote = write(output, chunk.baseAddress! + done, chunk.count - done)
                    guard wrote > 0 else { throw failure("writing \(destination)") }
                    done += wrote
                }
            }
            guard fsync(output) == 0 else { throw failure("syncing \(destination)") }
            close(output)
            return result
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
    }

    /// Reads `input` to its end a megabyte at a time, handing each chunk to `body`; returns the
    /// size and the SHA-256 of what it read.
    static func digest(
        _ input: Int32, _ name: String, _ body: (UnsafeRawBufferPointer) throws(RunlogError) -> Void
    ) throws(RunlogError) -> (Int64, String) {
        var hash = SHA256()
        var size: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let got = read(input, buffer.baseAddress, buffer.count)
            guard got >= 0 else { throw failure("reading \(name)") }
            if got == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<got])
            hash.update(chunk)
            try body(chunk)
            size += Int64(got)
        }
        return (size, hash.hex())
    }

    static func install(_ source: String, at destination: String, syncing directory: String) throws(RunlogError) {
        var info = stat()
        if lstat(destination, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw RunlogError(.invalidArgument, "\(destination) exists and is not a regular file")
        }
        guard Glibc.rename(source, destination) == 0 else { throw failure("renaming \(source) to \(destination)") }
        let handle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard handle >= 0 else { throw failure("opening \(directory)") }
        defer { close(handle) }
        guard fsync(handle) == 0 else { throw failure("syncing \(directory)") }
    }

    /// Checks each recorded artifact against its file under `directory`: present, a regular file,
    /// of the recorded size and SHA-256. One line a problem.
    static func verify(_ artifacts: [String: Artifact], in directory: String) -> [String] {
        var problems: [String] = []
        for (path, artifact) in artifacts.sorted(by: { $0.key < $1.key }) {
            let file = directory + "/" + path
            let input = Glibc.open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard input >= 0 else {
                problems.append("artifact \(path): cannot be opened (\(String(cString: strerror(errno))))")
                continue
            }
            defer { Glibc.close(input) }
            var info = stat()
            guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                problems.append("artifact \(path): not a regular file")
                continue
            }
            do throws(RunlogError) {
                let (size, digest) = try ArtifactFiles.digest(input, file) {
                    (_: UnsafeRawBufferPointer) throws(RunlogError) in
                }
                if size != artifact.size {
                    problems.append("artifact \(path): \(size) bytes, \(artifact.size) recorded")
                } else if digest != artifact.sha256 {
                    problems.append("artifact \(path): SHA-256 \(digest), \(artifact.sha256) recorded")
                }
            } catch {
                problems.append("artifact \(path): \(error)")
            }
        }
        return problems
    }

    /// Removes `directory` and everything below it (a deleted run's artifacts, at `gc`).
    static func removeTree(_ directory: String) throws(RunlogError) {
        var info = stat()
        guard lstat(directory, &info) == 0 else { return }
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            throw RunlogError(.storage, "removing \(directory)", underlying: error)
        }
    }

    private static func failure(_ doing: String) -> RunlogError {
        RunlogError(.storage, "\(doing): \(String(cString: strerror(errno)))")
    }
}
