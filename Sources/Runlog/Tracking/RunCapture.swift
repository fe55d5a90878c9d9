import Foundation
import RunlogStore

/// What reproduces a program that `runlog run` starts: its inputs (name → value, each one
/// `input` record of the run) and the files kept beside them as artifacts (the dirty diff, the
/// Python packages). Secrets never enter it: an allow-listed variable whose name looks secret is
/// recorded as present (`env_withheld`), never with its value.
public struct RunCapture: Sendable {
    public var inputs: [String: String] = [:]
    /// Artifact path → contents.
    public var artifacts: [String: Data] = [:]

    /// The variables recorded by default: the ones that change what a training program computes
    /// or where it runs. `--env NAME` adds more.
    public static let environmentAllowList = [
        "CUDA_VISIBLE_DEVICES", "CUDA_LAUNCH_BLOCKING", "CUBLAS_WORKSPACE_CONFIG", "NVIDIA_TF32_OVERRIDE",
        "PYTHONHASHSEED", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
        "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TOKENIZERS_PARALLELISM", "LANG", "LC_ALL", "TZ",
    ]

    /// Whether a variable's value must never be stored: its name contains TOKEN, SECRET,
    /// PASSWORD, PASSWD, CREDENTIAL or KEY, in any case.
    public static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "KEY"].contains { upper.contains($0) }
    }

    public static let gitDiffArtifact = "runlog/git.diff"
    public static let pipFreezeArtifact = "runlog/pip-freeze.txt"

    /// Captures everything for `command` run in `directory` with `environment`: the command (argv as
    /// JSON, and as a shell line), directory, executable, host, OS, CPU, Swift version; the git
    /// repository's commit, branch, dirty flag and — when dirty — the diff of tracked files; the
    /// allow-listed variables plus `extraNames`; for a Python interpreter, its version and
    /// `pip freeze`.
    public static func capture(
        command: [String], directory: String, environment: [String: String], extraNames: [String] = []
    ) -> RunCapture {
        var capture = RunCapture()
        capture.inputs["command"] = Validation.canonicalJSON(command)
        capture.inputs["command_line"] = shellLine(command)
        capture.inputs["working_directory"] = directory
        if let executable = Executables.find(command[0], path: environment["PATH"], directory: directory) {
            capture.inputs["executable"] = executable
        }
        capture.inputs["hostname"] = ProcessInfo.processInfo.hostName
        capture.inputs["os"] = EnvironmentInputs.operatingSystem()
        capture.inputs["cpu"] = cpuDescription()
        capture.inputs["swift_version"] = EnvironmentInputs.swiftVersion
        if let git = EnvironmentInputs.gitState(from: directory) {
            capture.inputs["git_repository"] = git.repository
            capture.inputs["git_commit"] = git.commit
            capture.inputs["git_dirty"] = git.dirty.map { $0 ? "true" : "false" }
            if let branch = Git.run(["rev-parse", "--abbrev-ref", "HEAD"], in: git.repository)?.text, branch != "HEAD" {
                capture.inputs["git_branch"] = branch
            }
            if git.dirty == true, let diff = Git.run(["diff", "--binary", "HEAD"], in: git.repository) {
                capture.artifacts[gitDiffArtifact] = diff.data
                capture.inputs["git_diff"] = "sha256:" + SHA256.hex(of: Array(diff.data))
            }
        }
        var withheld: [String] = []
        for name in Set(environmentAllowList + extraNames).sorted() {
            guard let value = environment[name] else { continue }
            if looksSecret(name) {
                withheld.append(name)
            } else {
                capture.inputs["env:" + name] = value
            }
        }
        if !withheld.isEmpty { capture.inputs["env_withheld"] = Validation.canonicalJSON(withheld) }
        if let interpreter = capture.inputs["executable"], isPython(interpreter) {
            if let version = Executables.output(interpreter, ["--version"], environment: environment) {
                capture.inputs["python_version"] = String(decoding: version, as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if let freeze = Executables.output(
                interpreter, ["-m", "pip", "freeze", "--disable-pip-version-check"], environment: environment)
            {
                capture.artifacts[pipFreezeArtifact] = freeze
                capture.inputs["pip_freeze"] = "sha256:" + SHA256.hex(of: Array(freeze))
            }
        }
        return capture
    }

    /// The absolute path a command's first word runs: itself when it holds a slash (relative to
    /// `directory`), else the first executable of that name on `path`; nil when there is none.
    public static func executable(_ name: String, path: String?, directory: String) -> String? {
        Executables.find(name, path: path, directory: directory)
    }

    /// argv as a POSIX shell line that reads back as the same words.
    public static func shellLine(_ command: [String]) -> String {
        command.map(EnvironmentInputs.shellQuoted).joined(separator: " ")
    }

    /// The Swift version this build was compiled with, as runs record it.
    public static var swiftVersion: String { EnvironmentInputs.swiftVersion }

    static func isPython(_ executable: String) -> Bool {
        let name = (executable as NSString).lastPathComponent
        return name.hasPrefix("python") && name.dropFirst("python".count).allSatisfy { $0.isNumber || $0 == "." }
    }

    static func cpuDescription() -> String {
        let count = ProcessInfo.processInfo.activeProcessorCount
        let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        return "\(model ?? "unknown CPU"), \(count) cores"
    }
}

/// Finding and running the programs a capture asks (git, the Python interpreter).
enum Executables {
    /// The absolute path `name` runs as: itself when it holds a slash (relative to `directory`),
    /// else the first executable of that name on `path`.
    static func find(_ name: String, path: String?, directory: String) -> String? {
        if name.contains("/") {
            let full = name.hasPrefix("/") ? name : directory + "/" + name
            let standard = URL(fileURLWithPath: full).standardizedFileURL.path
            return FileManager.default.isExecutableFile(atPath: standard) ? standard : nil
        }
        for entry in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = String(entry) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// What `executable arguments` prints on stdout when it exits 0 within 60 s; nil otherwise.
    static func output(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String]? = nil
    ) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let exited = process.exitSignal()
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        exited.wait()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else { return nil }
        return data
    }
}

/// `git` in a repository, when a git executable is installed.
enum Git {
    static func run(_ arguments: [String], in directory: String) -> (data: Data, text: String)? {
        let candidates = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"]
        guard let git = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
            let data = Executables.output(git, ["-C", directory] + arguments)
        else { return nil }
        return (data, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

extension ActiveRun {
    /// Records a capture: each input (checked against the input size limit first, so nothing is
    /// half recorded), then each artifact.
    public func record(_ capture: RunCapture) throws(RunlogError) {
        for (name, value) in capture.inputs {
            try Validation.value(value, of: "input", key: name, limit: Validation.maxInputValueLength)
        }
        let now = currentTimeMilliseconds()
        for name in capture.inputs.keys.sorted() {
            try append(.input(name: name, value: capture.inputs[name]!, timestamp: now))
        }
        for path in capture.artifacts.keys.sorted() {
            try logArtifact(data: capture.artifacts[path]!, path: path)
        }
        try flush()
    }

    /// Keeps `data` as artifact `path` (written to a temporary file first).
    public func logArtifact(data: Data, path: String) throws(RunlogError) {
        let temporary = NSTemporaryDirectory() + "runlog-artifact-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw RunlogError(.storage, "cannot write \(temporary) to keep artifact \(path)")
        }
        defer { unlink(temporary) }
        _ = try logArtifact(file: temporary, path: path)
    }
}

extension Process {
    /// A semaphore signalled when the process exits, to wait on instead of `waitUntilExit()`,
    /// which on Linux polls its run loop every 50 ms and so adds up to 50 ms to each wait. Set
    /// before `run()`.
    public func exitSignal() -> DispatchSemaphore {
        let exited = DispatchSemaphore(value: 0)
        terminationHandler = { _ in exited.signal() }
        return exited
    }
}
