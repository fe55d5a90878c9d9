import Foundation

/// What reproduces a run, captured when it starts: how the program was invoked, where, from which
/// commit, on which machine and toolchain. Each is one `input` record of the run.
enum EnvironmentInputs {
    static func capture() -> [(name: String, value: String)] {
        var inputs: [(String, String)] = [
            ("command_line", CommandLine.arguments.map(shellQuoted).joined(separator: " ")),
            ("working_directory", FileManager.default.currentDirectoryPath),
            ("executable", executablePath()),
            ("hostname", ProcessInfo.processInfo.hostName),
            ("os", operatingSystem()),
            ("swift_version", swiftVersion),
        ]
        if let git = gitState(from: FileManager.default.currentDirectoryPath) {
            inputs.append(("git_repository", git.repository))
            if let commit = git.commit { inputs.append(("git_commit", commit)) }
            if let dirty = git.dirty { inputs.append(("git_dirty", dirty ? "true" : "false")) }
        }
        return inputs
    }

    static let swiftVersion: String = {
        #if compiler(>=6.4)
            "6.4 or later"
        #elseif compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #elseif compiler(>=6.1)
            "6.1"
        #else
            "6.0"
        #endif
    }()

    /// `argument` as a POSIX shell reads it back: bare when it is plain, else in single quotes.
    static func shellQuoted(_ argument: String) -> String {
        let safe = argument.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./=:,+@%".unicodeScalars.contains($0)
        }
        return safe && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
            ?? ""
    }

    static func operatingSystem() -> String {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        var text = "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
        if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
            let line = release.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") })
        {
            text +=
                " (" + line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                + ")"
        }
        return text
    }

    /// The git repository enclosing `directory`, its HEAD commit and whether tracked files differ
    /// from it; nil outside a repository. Without a `git` executable the commit is read from the
    /// repository's files and the dirty flag is left out.
    static func gitState(from directory: String) -> (repository: String, commit: String?, dirty: Bool?)? {
        var current = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: current.appendingPathComponent(".git").path) { break }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { return nil }
            current = parent
        }
        let root = current.path
        if let commit = Git.run(["rev-parse", "HEAD"], in: root)?.text, commit.count == 40 {
            let status = Git.run(["status", "--porcelain", "--untracked-files=no"], in: root)
            return (root, commit, status.map { !$0.text.isEmpty })
        }
        return (root, commitFromFiles(root), nil)
    }

    /// HEAD's commit from `.git/HEAD`, a loose ref or `packed-refs`.
    private static func commitFromFiles(_ root: String) -> String? {
        let gitDirectory = root + "/.git"
        guard
            let head = try? String(contentsOfFile: gitDirectory + "/HEAD", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        else { return nil }
        guard head.hasPrefix("ref: ") else { return head.count == 40 ? head : nil }
        let ref = String(head.dropFirst(5))
        if let loose = try? String(contentsOfFile: gitDirectory + "/" + ref, encoding: .utf8) {
            return loose.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let packed = (try? String(contentsOfFile: gitDirectory + "/packed-refs", encoding: .utf8)) ?? ""
        return packed.split(separator: "\n").first { $0.hasSuffix(" " + ref) }.map { String($0.prefix(40)) }
    }
}

/// The SHA-256 of a file's contents, as `sha256:<64 hex digits>`, read in 1 MiB pieces.
public func sha256Digest(ofFile path: String) throws(RunlogError) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw RunlogError(.notFound, "cannot open \(path) to compute its digest")
    }
    defer { try? handle.close() }  // read-only
    var hasher = SHA256()
    do {
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
    } catch {
        throw RunlogError(.storage, "reading \(path) to compute its digest", underlying: error)
    }
    return "sha256:" + hasher.hex()
}

/// The SHA-256 of a file, or of a directory: the digest of its manifest, one line
/// `<file's sha256 hex>  <relative path>\n` per regular file (as `sha256sum` prints them), and
/// `symlink:<target>  <relative path>\n` per symbolic link (not followed), in byte order of
/// the relative paths, every level down. Files are read in 1 MiB pieces, so a dataset of any
/// size is hashed in bounded memory.
public func sha256Digest(ofPath path: String) throws(RunlogError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw RunlogError(.notFound, "no file or directory at \(path) to compute its digest")
    }
    guard isDirectory.boolValue else {
        guard (try? URL(fileURLWithPath: path).resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
        else { throw RunlogError(.invalidArgument, "\(path) is not a regular file or directory; it has no digest") }
        return try sha256Digest(ofFile: path)
    }
    guard let enumerator = FileManager.default.enumerator(atPath: path) else {
        throw RunlogError(.storage, "cannot list \(path) to compute its digest")
    }
    var entries: [String] = []
    while let relative = enumerator.nextObject() as? String { entries.append(relative) }
    var manifest = SHA256()
    for relative in entries.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
        let full = path + "/" + relative
        let line: String
        switch (try? FileManager.default.attributesOfItem(atPath: full))?[.type] as? FileAttributeType {
        case .typeDirectory?: continue
        case .typeSymbolicLink?:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? ""
            line = "symlink:\(target)  \(relative)\n"
        case .typeRegular?:
            line = String(try sha256Digest(ofFile: full).dropFirst("sha256:".count)) + "  \(relative)\n"
        default:
            throw RunlogError(.invalidArgument, "\(full) is not a regular file, directory or symlink; it has no digest")
        }
        manifest.update(Array(line.utf8))
    }
    return "sha256:" + manifest.hex()
}

extension RunInfo {
    /// The shell command that runs this run's program again where it ran (`cd DIR && COMMAND`),
    /// from its recorded command line; nil when none was recorded.
    public var rerunCommand: String? {
        guard let command = inputs["command_line"] else { return nil }
        guard let directory = inputs["working_directory"] else { return command }
        return "cd " + EnvironmentInputs.shellQuoted(directory) + " && " + command
    }
}
