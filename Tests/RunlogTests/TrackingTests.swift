import Foundation
import RunlogReliability
import RunlogWorkloads
import Synchronization
import Testing

@testable import Runlog

@Suite struct ExperimentTests {
    @Test func createOrGetReturnsTheSameExperimentForOneName() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let first = try store.experiment(named: "mnist")
        let again = try store.experiment(named: "mnist")
        #expect(first == again)
        #expect(first.lifecycle == .active && first.tags.isEmpty)
        let other = try store.experiment(named: "cifar 10 / ünïcode")
        #expect(other.id != first.id)
        // Oldest first; two made in one millisecond (the time's unit) are in id order, which is random.
        let listed = try store.experiments()
        #expect(Set(listed.map(\.name)) == ["mnist", "cifar 10 / ünïcode"])
        #expect(listed.map(\.id) == listed.sorted { ($0.creationTime, $0.id) < ($1.creationTime, $1.id) }.map(\.id))
        // Another store object on the same directory sees them.
        #expect(try makeStore(directory).experiment(named: "mnist").id == first.id)
    }

    @Test func processesCreatingOneExperimentAtOnceGetOneID() throws {
        let directory = TemporaryDirectory()
        _ = try makeStore(directory)
        for round in 0..<5 {
            let name = "race \(round)"
            let children = try (0..<6).map { _ in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: builtProduct("RunlogTestWriter"))
                process.arguments = [directory.store, "experiment", name]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                return (process, pipe)
            }
            let ids = children.map { process, pipe in
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(Set(ids).count == 1, "round \(round): \(ids)")
            #expect(ids.allSatisfy { $0.count == 16 })
        }
        #expect(try makeStore(directory).experiments().count == 5)
    }

    @Test func threadsCreatingOneExperimentAtOnceGetOneID() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let ids = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let id = try? store.experiment(named: "shared").id { ids.withLock { $0.append(id) } }
        }
        #expect(ids.withLock { $0.count } == 8)
        #expect(Set(ids.withLock { $0 }).count == 1)
        #expect(try store.experiments().count == 1)
    }

    @Test func threadsWithStoresOfTheirOwnCreatingOneExperimentGetOneID() throws {
        // The race of processes, in one process: each thread opens its own store on the directory.
        let directory = TemporaryDirectory()
        _ = try makeStore(directory)
        let path = directory.store
        for round in 0..<5 {
            let ids = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                if let store = try? TrackingStore.open(at: path, options: quietOptions()),
                    let id = try? store.experiment(named: "race \(round)").id
                {
                    ids.withLock { $0.append(id) }
                }
            }
            #expect(ids.withLock { $0.count } == 8, "round \(round)")
            #expect(Set(ids.withLock { $0 }).count == 1, "round \(round): \(ids.withLock { $0 })")
        }
        #expect(try makeStore(directory).experiments().count == 5)
    }

    @Test func experimentNamesAreValidated() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        for name in ["", String(repeating: "x", count: 501), "tab\there", "nul\0"] {
            #expect { try store.experiment(named: name) } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        }
        #expect(try store.experiment(named: String(repeating: "x", count: 500)).name.count == 500)
        #expect { try store.experiment(id: "../../etc") } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        #expect(try store.experiment(id: "0123456789abcdef") == nil)
    }

    @Test func experimentTagsAreSetAndKept() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "tagged")
        try store.setTag("team", "vision", onExperiment: experiment.id)
        try store.setTag("team", "audio", onExperiment: experiment.id)
        try store.setTag("owner", "ada", onExperiment: experiment.id)
        #expect(try store.experiment(id: experiment.id)?.tags == ["team": "audio", "owner": "ada"])
    }
}

@Suite struct RunTests {
    @Test func aRunStartsRunningAndFinishes() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "e")
        let before = currentTimeMilliseconds()
        let run = try store.startRun(in: experiment, params: ["lr": "0.1"], tags: ["phase": "try"])
        #expect(run.name.split(separator: "-").count == 3, "a readable generated name: \(run.name)")
        var info = try store.run(run.id)
        #expect(info.status == .running)
        #expect(info.experimentID == experiment.id && info.name == run.name)
        #expect(info.startTime.map { $0 >= before && $0 <= currentTimeMilliseconds() } == true)
        #expect(info.endTime == nil)
        #expect(info.params == ["lr": "0.1"] && info.tags == ["phase": "try"])
        try run.log("loss", 0.5, step: 1)
        try run.finish()
        try store.refresh()
        info = try store.run(run.id)
        #expect(info.status == .finished)
        #expect(info.endTime.map { $0 >= info.startTime! } == true)
        #expect(info.metrics["loss"]?.count == 1)
        #expect { try run.finish() } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        #expect { try run.log("loss", 1) } throws: { ($0 as? RunlogError)?.storeError?.code == .closed }
    }

    @Test func reproducibilityInputsAreCapturedAtStart() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), name: "inputs")
        let inputs = try store.run(run.id).inputs
        for name in ["command_line", "working_directory", "executable", "hostname", "os", "swift_version"] {
            #expect(inputs[name]?.isEmpty == false, "input \(name)")
        }
        #expect(inputs["working_directory"] == FileManager.default.currentDirectoryPath)
        #expect(inputs["swift_version"]?.hasPrefix("6.") == true)
        // The tests run inside the project's git checkout.
        if let git = EnvironmentInputs.gitState(from: FileManager.default.currentDirectoryPath) {
            #expect(inputs["git_repository"] == git.repository)
            #expect(inputs["git_commit"]?.count == 40)
            #expect(["true", "false"].contains(inputs["git_dirty"] ?? "true"))
        }
        try run.finish()
        #expect(EnvironmentInputs.gitState(from: directory.path) == nil, "no repository, no failure")
    }

    @Test func namedInputsAndFileDigests() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        let file = directory.path + "/data.txt"
        try Data("abc".utf8).write(to: URL(fileURLWithPath: file))
        try run.logInput(name: "train", file: file)
        try run.logInput(name: "labels", source: "s3://bucket/labels.csv", digest: "sha256:00")
        try run.flush()
        try store.refresh()
        let inputs = try store.run(run.id).inputs
        #expect(inputs.count == 2)
        #expect(
            inputs["dataset:train"]
                == "{\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"source\":\"\(file)\"}"
        )
        #expect(inputs["dataset:labels"] == "{\"digest\":\"sha256:00\",\"source\":\"s3://bucket/labels.csv\"}")
        #expect { try run.logInput(name: "x", file: directory.path + "/missing") } throws: {
            ($0 as? RunlogError)?.code == .notFound
        }
    }

    @Test func loggingFormsAndDefaultTimestamps() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        let before = currentTimeMilliseconds()
        try run.log("loss", 1.5, step: 0)
        let accuracy = try run.metric("accuracy")
        try run.log(accuracy, 0.25, step: 0, timestamp: 42)
        try run.log(["loss": .nan, "accuracy": .infinity, "lr": -.infinity], step: 1)
        let after = currentTimeMilliseconds()
        try run.flush()
        try store.refresh()
        let loss = try store.history(of: run.id, "loss")
        #expect(loss.count == 2 && loss[0].value == 1.5 && loss[1].value.isNaN)
        #expect(loss.allSatisfy { (before...after).contains($0.timestamp) })
        #expect(try store.history(of: run.id, "accuracy").map(\.timestamp).first == 42)
        #expect(try store.history(of: run.id, "lr").map(\.value) == [-.infinity])
        let stamps = Set(try ["loss", "accuracy", "lr"].map { try store.history(of: run.id, $0).last!.timestamp })
        #expect(stamps.count == 1, "one timestamp for a multi-key log")
        #expect { try store.history(of: run.id, "missing") } throws: {
            ($0 as? RunlogError)?.code == .notFound && "\($0)".contains("accuracy, loss, lr")
        }
    }

    @Test func paramsAreWriteOnceAndTagsOverwrite() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(
            in: try store.experiment(named: "e"), params: ["lr": "0.1"], captureEnvironment: false)
        try run.logParam("lr", "0.1")
        try run.logParam("batch", "32")
        let conflict = #expect(throws: RunlogError.self) { try run.logParam("lr", "0.2") }
        #expect(conflict?.code == .paramConflict)
        #expect(conflict?.message.contains("\"0.1\"") == true && conflict?.message.contains("\"0.2\"") == true)
        try run.setTag("note", "a")
        try run.setTag("note", "b")
        try run.flush()
        try store.refresh()
        let info = try store.run(run.id)
        #expect(info.params == ["lr": "0.1", "batch": "32"])
        #expect(info.tags == ["note": "b"])
        // The logged records: one lr, not two.
        let reader = try store.engine.openReader(run.id)
        #expect(reader.index.records.filter { if case .param(key: "lr", _, _) = $0 { true } else { false } }.count == 1)
    }

    @Test(arguments: [
        "", String(repeating: "k", count: 251), "a*b", "a//b", "../x", "x/..", "/lead", "trail/", "tab\tkey", "nul\0",
    ])
    func badKeysAreRefusedAndChangeNothing(key: String) throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        for attempt in [
            { try run.log(key, 1) }, { try run.logParam(key, "v") }, { try run.setTag(key, "v") },
            { try run.log([key: 1, "fine": 2]) },
        ] as [() throws -> Void] {
            #expect { try attempt() } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        }
        try run.flush()
        try store.refresh()
        let info = try store.run(run.id)
        #expect(info.metrics.isEmpty && info.params.isEmpty && info.tags.isEmpty)
    }

    @Test func goodKeysAndValueLimits() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        for key in ["loss", "val/loss", "a.b-c_d e", "ünï/çødé", String(repeating: "k", count: 250), "x/./y"] {
            try run.log(key, 1)
        }
        try run.logParam("p", String(repeating: "v", count: 6000))
        #expect { try run.logParam("q", String(repeating: "v", count: 6001)) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        try run.setTag("t", String(repeating: "v", count: 8000))
        #expect { try run.setTag("t", String(repeating: "v", count: 8001)) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        #expect {
            try store.startRun(in: try store.experiment(named: "e"), name: String(repeating: "n", count: 251))
        } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        #expect { try store.startRun(in: try store.experiment(named: "e"), params: ["bad key*": "v"]) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
    }

    @Test func aDeadRunStaysRunningUntilMarkedKilled() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "e")
        let run = try store.startRun(in: experiment, captureEnvironment: false)
        try run.log("loss", 1, step: 1, timestamp: 1_800_000_000_000)
        try run.flush()
        // While the run's writer is alive, its status cannot be set from elsewhere.
        #expect { try store.setStatus(.killed, of: run.id) } throws: {
            ($0 as? RunlogError)?.storeError?.code == .locked
        }
        // The writer goes away without finishing, as a dying process's would.
        try run.writer.close()
        try store.refresh()
        var info = try store.run(run.id)
        #expect(info.status == .running)
        #expect(info.lastWriteTime == 1_800_000_000_000)
        try store.setStatus(.killed, of: run.id)
        info = try store.run(run.id)
        #expect(info.status == .killed && info.endTime != nil)
    }

    @Test func withRunFinishesOrFails() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "e")
        let ok = try store.withRun(in: experiment, name: "ok") { run in
            try run.log("x", 1)
            return run.id
        }
        struct Boom: Error {}
        var failed: RunID?
        #expect(throws: Boom.self) {
            try store.withRun(in: experiment, name: "boom") { run in
                failed = run.id
                throw Boom()
            }
        }
        try store.refresh()
        #expect(try store.run(ok).status == .finished)
        #expect(try store.run(failed!).status == .failed)
    }

    @Test func handlesWorkFromTasksAndThreads() async throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for step in 0..<1000 { try? run.log("t\(task)", Double(step), step: Int64(step)) }
                }
            }
        }
        try await run.finish()
        try store.refresh()
        let info = try store.run(run.id)
        #expect((0..<4).allSatisfy { info.metrics["t\($0)"]?.count == 1000 })
        #expect(info.status == .finished)
    }
}

@Suite struct BatchTests {
    /// A batch's points land in their series in order, however its keys repeat: a few keys (the
    /// last-found and short-list path), more than 16 (the dictionary path), and a buffer smaller
    /// than the batch (the writer stages it in several holds of its lock, waiting for the sealer).
    @Test(.timeLimit(.minutes(1)), arguments: [3, 40])
    func aBatchLogsEveryPointIntoItsSeries(keys: Int) throws {
        let directory = TemporaryDirectory()
        var options = quietOptions(blockPoints: 64)
        options.maxBufferedPoints = 128
        let store = try TrackingStore.open(at: directory.store, options: options)
        let run = try store.startRun(in: try store.experiment(named: "batch"), captureEnvironment: false)
        var random = SeededRandom(seed: UInt64(keys))
        var expected: [String: [(Int64, Double)]] = [:]
        for round in 0..<5 {
            var batch: [BatchMetric] = []
            for i in 0..<1000 {
                let key = "k\(random.next() % UInt64(keys))"
                let step = Int64(round * 1000 + i)
                let value = Double(bitPattern: random.next() >> 2)
                batch.append(BatchMetric(key: key, value: value, timestamp: 1_700_000_000_000 + step, step: step))
                expected[key, default: []].append((step, value))
            }
            try run.logBatch(metrics: batch, params: [("round\(round)", "\(round)")], tags: [])
        }
        try run.finish()
        #expect(try store.run(run.id).metrics.count == expected.count)
        for (key, points) in expected {
            let history = try store.history(of: run.id, key)
            #expect(history.map(\.step) == points.map(\.0), "\(key)")
            #expect(history.map(\.value.bitPattern) == points.map(\.1.bitPattern), "\(key)")
            #expect(history.map(\.timestamp) == points.map { 1_700_000_000_000 + $0.0 })
        }
        #expect(try store.run(run.id).params.count == 5)
    }

    /// A bad key anywhere in a batch logs nothing of it.
    @Test func aBatchWithABadKeyLogsNothing() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "batch"), captureEnvironment: false)
        let good = (0..<20).map { BatchMetric(key: "k\($0)", value: 1, timestamp: 1, step: Int64($0)) }
        #expect(throws: RunlogError.self) {
            try run.logBatch(
                metrics: good + [BatchMetric(key: "", value: 1, timestamp: 1, step: 0)], params: [("p", "1")], tags: [])
        }
        try run.finish()
        let info = try store.run(run.id)
        #expect(info.metrics.isEmpty)
        #expect(info.params.isEmpty)
    }
}

extension BatchTests {
    /// Many series, each with fewer points staged than a block, fill the writer's buffer: the
    /// logger must not wait forever for a sealer that has nothing to write (it did, with 3 keys
    /// and a buffer of two blocks, before the buffer sealed what it held when full).
    @Test(.timeLimit(.minutes(1))) func manyPartlyStagedSeriesDoNotStallTheLogger() throws {
        let directory = TemporaryDirectory()
        var options = quietOptions(blockPoints: 64)
        options.maxBufferedPoints = 128
        let store = try TrackingStore.open(at: directory.store, options: options)
        let run = try store.startRun(in: try store.experiment(named: "stall"), captureEnvironment: false)
        for step in 0..<2000 {
            for key in 0..<7 { try run.log("k\(key)", Double(step), step: Int64(step)) }
        }
        try run.finish()
        for key in 0..<7 { #expect(try store.history(of: run.id, "k\(key)").map(\.step) == (0..<2000).map(Int64.init)) }
    }
}
