import ArgumentParser
import Foundation
import Runlog

/// `runlog rerun RUN [--dry-run] [--force] [--worktree]`
struct Rerun: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recorded run's program again, after checking that what it depends on has not changed.",
        discussion: """
            Shows the command, directory and environment it will use, and compares the recorded state \
            with today's: the git commit and the dirty diff, each input's SHA-256, the toolchain (Swift \
            version; Python version and pip freeze), and the variables whose value was withheld (they \
            must be set now). A difference stops it (exit 1) unless --force. The allow-listed \
            variables are set to their recorded values (and unset when the run had them unset). \
            --worktree checks the recorded commit out into a temporary git worktree and applies the \
            recorded diff, so the rerun sees the tree the run saw, whatever the checkout holds now. \
            The new run, started as by `runlog run`, is tagged runlog.rerun_of=<the run's id>; \
            `runlog compare RUN NEW --reproduced` then says whether it reproduced. Works for runs \
            started by `runlog run` and by the Swift API (command line and directory); for others it \
            says what is missing.
            """)

    @OptionGroup var store: StoreOptionsGroup

    @Argument(help: ArgumentHelp("The run: an id, a unique prefix, or EXPERIMENT/RUN_NAME.", valueName: "run"))
    var runReference: String

    @Flag(help: "Show what would run and what differs, and stop.")
    var dryRun = false

    @Flag(help: "Rerun even when something differs from the recorded state.")
    var force = false

    @Flag(help: "Rerun in a temporary git worktree of the recorded commit with the recorded diff applied.")
    var worktree = false

    func run() throws {
        let store = try self.store.open()
        let original = try store.run(try resolveRun(runReference, in: store))
        let experimentName = try store.experiment(id: original.experimentID)?.name ?? "Default"
        var recipe = try RunRecipe.of(original, experimentName: experimentName)
        var checkout: Worktree?
        if worktree {
            let made = try Worktree(for: original, store: store)
            checkout = made
            recipe.directory = made.directory(for: recipe.directory)
        }
        defer { checkout?.remove() }
        let environment = Self.environment(for: original, recipe: recipe)
        // Today's state, taken once: compared here, and recorded by the launch.
        let state = RunCapture.capture(
            command: recipe.command, directory: recipe.directory, environment: environment,
            extraNames: recipe.environment)
        let (checks, digests) = Self.checks(original, environment: environment, state: state)

        print("rerun of \(original.id) (\(TextSafety.forTerminal(original.name)))")
        print("  command    \(TextSafety.forTerminal(RunCapture.shellLine(recipe.command)))")
        print(
            "  directory  \(TextSafety.forTerminal(recipe.directory))\(checkout != nil ? "  (temporary worktree)" : "")"
        )
        for name in original.inputs.keys.sorted() where name.hasPrefix("env:") {
            print(
                "  env        \(TextSafety.forTerminal(String(name.dropFirst(4))))=\(TextSafety.forTerminal(original.inputs[name]!))"
            )
        }
        var table = DataTable(columns: ["check", "recorded", "now", ""])
        for check in checks {
            table.rows.append([check.what, check.recorded, check.now, check.same ? "same" : "DIFFERS"])
        }
        table.paint = { row, _, text in checks[row].same ? text : Style.highlight(text) }
        table.print(.table)
        let differing = checks.filter { !$0.same }
        if !differing.isEmpty {
            let names = differing.map(\.what).joined(separator: ", ")
            if !force {
                standardError(
                    "error: \(names) differ\(differing.count == 1 ? "s" : "") from the recorded run; --force reruns anyway"
                        + (worktree || original.inputs["git_commit"] == nil
                            ? "" : ", --worktree rebuilds the recorded tree"))
                throw ExitCode(1)
            }
            standardError("warning: rerunning although \(names) differ\(differing.count == 1 ? "s" : "")")
        }
        if dryRun { return }
        let launcher = Launcher(
            store: store, recipe: recipe, name: original.name.isEmpty ? nil : original.name + " (rerun)",
            extraTags: [RunRecipe.rerunTag: original.id.description], environment: environment, trackingURI: nil,
            capture: state, digests: digests)
        let outcome = try launcher.launch()
        standardError("runlog rerun: compare with `runlog compare \(original.id) \(outcome.run) --reproduced`")
        store.engine.close()
        throw ExitCode(outcome.status)
    }

    /// Today's environment with the allow-listed variables (and the run's --env ones) set to their
    /// recorded values, or unset where the run had them unset; withheld ones are kept as they are.
    static func environment(for run: RunInfo, recipe: RunRecipe) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let withheld = Set(withheldNames(run))
        for name in RunCapture.environmentAllowList + recipe.environment where !withheld.contains(name) {
            environment[name] = run.inputs["env:" + name]
        }
        return environment
    }

    static func withheldNames(_ run: RunInfo) -> [String] {
        run.inputs["env_withheld"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }

    struct Check {
        var what: String
        var recorded: String
        var now: String
        var same: Bool { recorded == now }
    }

    /// The checks of `run`'s recorded state against today's `state`, and the digests of its
    /// inputs as they are now (path → digest), which the launch then records without hashing again.
    static func checks(_ run: RunInfo, environment: [String: String], state: RunCapture) -> (
        [Check], digests: [String: String]
    ) {
        var checks: [Check] = []
        var digests: [String: String] = [:]
        let inputs = run.inputs
        let compared = [
            ("git_commit", "git commit", "no repository"), ("git_diff", "git diff", "clean"),
            ("python_version", "python", "none"), ("pip_freeze", "pip freeze", "none"),
        ]
        for (key, what, absent) in compared {
            // The diff is compared whenever the run was in a repository: clean is a state too.
            guard inputs[key] != nil || (key == "git_diff" && inputs["git_commit"] != nil) else { continue }
            checks.append(Check(what: what, recorded: inputs[key] ?? absent, now: state.inputs[key] ?? absent))
        }
        if let swift = inputs["swift_version"] {
            checks.append(Check(what: "swift", recorded: swift, now: RunCapture.swiftVersion))
        }
        for dataset in DatasetInput.all(in: run) {
            guard let digest = dataset.fields["digest"] else { continue }
            let now: String
            if let source = dataset.fields["source"] {
                let digest = try? sha256Digest(ofPath: source)
                digests[source] = digest
                now = digest ?? "missing: \(source)"
            } else {
                now = "no recorded path"
            }
            checks.append(Check(what: "input \(dataset.name)", recorded: digest, now: now))
        }
        for name in withheldNames(run) {
            checks.append(
                Check(
                    what: "env \(name)", recorded: "set (value withheld)",
                    now: environment[name] == nil ? "unset" : "set (value withheld)"))
        }
        let shown = checks.map { check in
            var shown = check
            shown.recorded = TextSafety.forTerminal(check.recorded)
            shown.now = TextSafety.forTerminal(check.now)
            return shown
        }
        return (shown, digests)
    }
}

/// A temporary git worktree of a run's recorded commit, with its recorded diff applied.
struct Worktree {
    let repository: String
    let path: String

    init(for run: RunInfo, store: TrackingStore) throws {
        guard let repository = run.inputs["git_repository"], let commit = run.inputs["git_commit"] else {
            throw CLIError("--worktree needs the run's git repository and commit, and run \(run.id) recorded none")
        }
        self.repository = repository
        path = NSTemporaryDirectory() + "runlog-rerun-\(run.id.description.prefix(8))-\(getpid())"
        try Self.git(["-C", repository, "worktree", "add", "--detach", "--quiet", path, commit])
        if run.inputs["git_diff"] != nil {
            guard let (_, diff) = try store.artifactFile(of: run.id, RunCapture.gitDiffArtifact) else {
                remove()
                throw CLIError(
                    "run \(run.id) recorded a dirty tree but its diff (\(RunCapture.gitDiffArtifact)) is missing")
            }
            do {
                try Self.git(["-C", path, "apply", "--whitespace=nowarn", absolutePath(diff)])
            } catch {
                remove()
                throw error
            }
        }
    }

    /// Where `directory` (inside the repository) is in the worktree.
    func directory(for directory: String) -> String {
        guard directory.hasPrefix(repository) else { return path }
        return path + directory.dropFirst(repository.count)
    }

    func remove() {
        try? Self.git(["-C", repository, "worktree", "remove", "--force", path])
    }

    static func git(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let exited = process.exitSignal()
        do { try process.run() } catch { throw CLIError("cannot run git: \(error.localizedDescription)") }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        exited.wait()
        guard process.terminationStatus == 0 else {
            throw CLIError(
                "git \(arguments.dropFirst(2).joined(separator: " ")) failed: "
                    + String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
