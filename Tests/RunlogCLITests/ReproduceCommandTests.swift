import Foundation
import RunlogReliability
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `runlog run`, `runlog rerun` and `runlog compare --reproduced`, end to end, with a Swift child
/// (the demo's trainer, which takes up the run through `TrackingStore.attachedRun()`) and shell
/// children. The Python child is tested with the stock mlflow client in `make differential`.
@Suite(.serialized) struct ReproduceCommandTests {
    /// A git repository with one commit, as the working directory of the runs.
    final class Repository {
        let workspace: Workspace
        var path: String { workspace.path }
        var store: String { workspace.path + "/runlog-store" }

        init() throws {
            workspace = try Workspace(importing: false)
            try git("init", "-q")
            try Data("v1\n".utf8).write(to: URL(fileURLWithPath: path + "/code.txt"))
            try Data("1,2,3\n".utf8).write(to: URL(fileURLWithPath: path + "/data.csv"))
            try git("add", "code.txt")
            try git("commit", "-qm", "v1")
        }

        func git(_ arguments: String...) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"] + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: path)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "git \(arguments)")
        }

        /// The run id `runlog run` (or `rerun`) reported on stderr.
        func runID(_ stderr: String) throws -> String {
            let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("runlog run: run ") })
            return String(line.dropFirst("runlog run: run ".count).prefix(32))
        }

        func status(_ id: String) throws -> String {
            let shown = try runlog(["show", id, "--format", "csv"], in: path)
            return try #require(shown.out.split(separator: "\n").first { $0.hasPrefix("attribute,status,") })
                .split(separator: ",").last.map(String.init) ?? ""
        }

        func artifact(_ id: String, _ name: String) throws -> String {
            try String(contentsOfFile: store + "/artifacts/\(id)/" + name, encoding: .utf8)
        }
    }

    @Test func aSwiftTrainerRunsRerunsAndReproduces() throws {
        let repository = try Repository()
        let trainer = [builtProduct("runlog"), "demo", "--one", "--steps", "2000", "--learning-rate", "0.1"]
        let first = try runlog(
            [
                "run", "--experiment", "repro", "--input", "data=data.csv", "--param", "note=first", "--system-metrics",
                "0.2", "--",
            ] + trainer, in: repository.path)
        #expect(first.status == 0, "\(first.err)")
        let original = try repository.runID(first.err)
        #expect(try repository.status(original) == "FINISHED")
        let shown = try runlog(["show", original], in: repository.path).out
        // The trainer's metrics and params, the recorded inputs, and system metrics written while the
        // trainer held the run (they waited and landed at its exit).
        for expected in [
            "learning_rate  0.1", "note           first", "train/loss", "val/accuracy", "dataset:data", "git_commit",
            "git_branch", "\"--learning-rate\",\"0.1\"", "system/system_memory_usage_megabytes",
            "runlog/stdout.txt", "rerun       runlog rerun \(original)",
        ] {
            #expect(shown.contains(expected), "\(expected)")
        }
        #expect(
            try repository.artifact(original, "runlog/stdout.txt").hasPrefix("trained 2000 steps into run \(original)"))

        let rerun = try runlog(["rerun", original], in: repository.path)
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(rerun.out.contains("input data") && !rerun.out.contains("DIFFERS"))
        let second = try repository.runID(rerun.err)
        #expect(try runlog(["show", second], in: repository.path).out.contains("rerun of    \(original)"))
        let verdict = try runlog(["compare", original, second, "--reproduced"], in: repository.path)
        #expect(verdict.status == 0)
        #expect(verdict.out.hasPrefix("REPRODUCED: run \(second) against \(original): 4 metrics, 4042 points"))

        // A changed input stops the rerun and is named; --force reruns anyway.
        try Data("1,2,4\n".utf8).write(to: URL(fileURLWithPath: repository.path + "/data.csv"))
        let refused = try runlog(["rerun", original], in: repository.path)
        #expect(refused.status == 1)
        #expect(refused.err.contains("input data differs from the recorded run"))
        #expect(refused.out.contains("DIFFERS"))
        let dry = try runlog(["rerun", original, "--dry-run", "--force"], in: repository.path)
        #expect(dry.status == 0 && !dry.err.contains("runlog run: run"))
    }

    @Test func aSwiftProgramThatStartsItsOwnRunsLogsItsFirstIntoTheLaunchedOne() throws {
        let repository = try Repository()
        // The four-setting demo calls startRun four times: the first takes up the run.
        let first = try runlog(
            [
                "run", "--experiment", "repro", "--system-metrics", "0", "--", builtProduct("runlog"), "demo",
                "--steps", "100",
            ],
            in: repository.path)
        #expect(first.status == 0, "\(first.err)")
        let original = try repository.runID(first.err)
        let shown = try runlog(["show", original], in: repository.path).out
        #expect(shown.hasPrefix("run \(original)  lr=0.5 l2=0.0 batch=32\n"))
        #expect(shown.contains("learning_rate  0.5") && shown.contains("train/loss") && shown.contains("command_line"))
        let rerun = try runlog(["rerun", original], in: repository.path)
        #expect(rerun.status == 0, "\(rerun.err)")
        let verdict = try runlog(
            ["compare", original, try repository.runID(rerun.err), "--reproduced"], in: repository.path)
        #expect(verdict.out.hasPrefix("REPRODUCED"), "\(verdict.out)")
    }

    @Test func anotherSeedDiffersAtItsFirstStep() throws {
        let repository = try Repository()
        // Two demo runs with different seeds: the verdict names the first differing step.
        let a = try runlog(
            ["run", "--", builtProduct("runlog"), "demo", "--one", "--steps", "100", "--seed", "1"], in: repository.path
        )
        let b = try runlog(
            ["run", "--", builtProduct("runlog"), "demo", "--one", "--steps", "100", "--seed", "2"], in: repository.path
        )
        let verdict = try runlog(
            ["compare", try repository.runID(a.err), try repository.runID(b.err), "--reproduced"], in: repository.path)
        #expect(verdict.status == 1)
        #expect(verdict.out.hasPrefix("DIFFERS"))
        #expect(verdict.out.contains("param seed: \"1\" vs \"2\""))
        #expect(verdict.out.contains("metric train/loss: first differs at step 1: "))
    }

    @Test func exitStatusesBecomeRunStatusesAndSecretsAreNeverStored() throws {
        let repository = try Repository()
        let secret = "hf_\(UInt64.random(in: 1...UInt64.max))"
        setenv("HF_TOKEN", secret, 1)
        setenv("RUNLOG_TEST_SECRET_KEY", secret, 1)
        defer {
            unsetenv("HF_TOKEN")
            unsetenv("RUNLOG_TEST_SECRET_KEY")
        }
        let failed = try runlog(
            [
                "run", "--env", "HF_TOKEN", "--env", "RUNLOG_TEST_SECRET_KEY", "--", "sh", "-c",
                "echo out; echo err >&2; exit 3",
            ],
            in: repository.path)
        #expect(failed.status == 3)
        #expect(failed.out == "out\n")
        #expect(failed.err.contains("err\n"))
        let id = try repository.runID(failed.err)
        #expect(try repository.status(id) == "FAILED")
        #expect(try repository.artifact(id, "runlog/stderr.txt") == "err\n")
        let shown = try runlog(["show", id], in: repository.path).out
        #expect(shown.contains(#"env_withheld       ["HF_TOKEN","RUNLOG_TEST_SECRET_KEY"]"#))
        // No byte of the store holds the secret.
        let files = FileManager.default.enumerator(atPath: repository.store)!.compactMap { $0 as? String }
        #expect(files.count > 3)
        for file in files {
            guard let data = FileManager.default.contents(atPath: repository.store + "/" + file) else { continue }
            #expect(data.range(of: Data(secret.utf8)) == nil, "\(file)")
        }
        // The rerun needs the withheld variables set, and passes them through.
        unsetenv("HF_TOKEN")
        let refused = try runlog(["rerun", id], in: repository.path)
        #expect(refused.status == 1 && refused.err.contains("env HF_TOKEN differs"))

        let missing = try runlog(["run", "--", "no-such-program-here"], in: repository.path)
        #expect(missing.status == 1 && missing.err.contains("no program \"no-such-program-here\" to run"))
        let usage = try runlog(["run"], in: repository.path)
        #expect(usage.status == 2 && usage.err.contains("give the program to run after --"))
        let imported = try Workspace()
        let importedRun = try #require(
            try runlog(["runs", "--all", "--format", "csv"], in: imported.path).out.split(separator: "\n").dropFirst()
                .first?
                .split(separator: ",").first.map(String.init))
        let bare = try runlog(["rerun", importedRun], in: imported.path)
        #expect(bare.status == 1 && bare.err.contains("cannot be rerun: it has no recorded command line"))
    }

    @Test func gpuMetricsLandInTheRunWhenNVMLLoads() throws {
        let repository = try Repository()
        let file = "\(#filePath)"
        let script = String(file[..<file.range(of: "/Tests/")!.lowerBound]) + "/Tests/support/build-fake-nvml"
        let library = repository.path + "/libfake-nvml.so"
        let build = Process()
        build.executableURL = URL(fileURLWithPath: script)
        build.arguments = [library]
        try build.run()
        build.waitUntilExit()
        try #require(build.terminationStatus == 0)
        let result = try runlog(
            ["run", "--system-metrics", "0.1", "--", "sleep", "0.35"], in: repository.path,
            environment: ["RUNLOG_NVML_LIBRARY": library])
        #expect(result.status == 0, "\(result.err)")
        let id = try repository.runID(result.err)
        let scanned = try runlog(
            ["scan", id, "system/gpu_0_utilization_percentage", "--format", "csv"], in: repository.path)
        let values = scanned.out.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[2] }
        // Samples at about 0.1, 0.2, 0.3 s and the last one at the child's exit.
        #expect(values.count >= 2 && values.allSatisfy { $0 == "37.0" || $0 == "37" }, "\(scanned.out)")
        let shown = try runlog(["show", id], in: repository.path).out
        #expect(shown.contains("system/gpu_2_memory_usage_megabytes"))
        #expect(!shown.contains("system/gpu_1_"))
    }

    @Test func sigintStopsTheChildAndTheRunIsKilled() throws {
        let repository = try Repository()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtProduct("runlog"))
        process.arguments = ["run", "--system-metrics", "0.1", "--", "sh", "-c", "echo started; exec sleep 30"]
        process.currentDirectoryURL = URL(fileURLWithPath: repository.path)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Wait (at most 20 s) for the child's first line, then interrupt `runlog run` itself.
        var seen = Data()
        let deadline = Date().addingTimeInterval(20)
        while !String(decoding: seen, as: UTF8.self).contains("started"), Date() < deadline {
            seen += out.fileHandleForReading.availableData
        }
        Thread.sleep(forTimeInterval: 0.5)  // a few system-metrics samples
        kill(process.processIdentifier, SIGINT)
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGINT)
        let id = try repository.runID(String(decoding: errors, as: UTF8.self))
        #expect(try repository.status(id) == "KILLED")
        #expect(try repository.artifact(id, "runlog/stdout.txt") == "started\n")
        #expect(try runlog(["show", id], in: repository.path).out.contains("system/cpu_utilization_percentage"))
    }

    @Test func worktreeRebuildsTheRecordedDirtyTree() throws {
        let repository = try Repository()
        try Data("v1 with a change\n".utf8).write(to: URL(fileURLWithPath: repository.path + "/code.txt"))
        let first = try runlog(["run", "--system-metrics", "0", "--", "cat", "code.txt"], in: repository.path)
        let original = try repository.runID(first.err)
        #expect(try repository.artifact(original, "runlog/git.diff").contains("+v1 with a change"))
        try Data("v2\n".utf8).write(to: URL(fileURLWithPath: repository.path + "/code.txt"))
        try repository.git("commit", "-qam", "v2")

        let refused = try runlog(["rerun", original], in: repository.path)
        #expect(refused.status == 1)
        #expect(refused.err.contains("git commit, git diff differ from the recorded run"))
        let rebuilt = try runlog(["rerun", original, "--worktree"], in: repository.path)
        #expect(rebuilt.status == 0, "\(rebuilt.err)")
        #expect(rebuilt.out.hasSuffix("v1 with a change\n"))
        #expect(rebuilt.out.contains("(temporary worktree)"))
        // The worktree is gone afterwards; the checkout is as the user left it.
        let again = try repository.runID(rebuilt.err)
        let directory = try #require(
            try runlog(["show", again], in: repository.path).out.split(separator: "\n")
                .first { $0.contains("working_directory") }?.split(separator: " ").last.map(String.init))
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(try String(contentsOfFile: repository.path + "/code.txt", encoding: .utf8) == "v2\n")
    }
}
