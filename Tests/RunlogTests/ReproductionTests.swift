import Foundation
import RunlogReliability
import Testing

@testable import Runlog

@Suite struct ReproductionTests {
    @Test func aRecordedCommandLineReadsBackAsTheSameWords() throws {
        let words = ["python", "train.py", "--name", "it's a run", "", "a b", "x=1", "$HOME", "ünïcode"]
        let line = RunCapture.shellLine(words)
        #expect(ShellWords.split(line) == words)
        #expect(ShellWords.split("python 'unclosed") == nil)
        #expect(ShellWords.split("echo $HOME") == nil)  // a shell would expand it: not ours to guess
        #expect(ShellWords.split("a | b") == nil)
    }

    @Test func secretsAreRecordedAsPresentAndNeverWithTheirValue() throws {
        let environment = [
            "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "1",
            "HF_TOKEN": "hf_top_secret", "MY_API_KEY": "k-123", "DB_PASSWORD": "pw", "UNLISTED": "u",
        ]
        let capture = RunCapture.capture(
            command: ["/bin/true"], directory: "/", environment: environment,
            extraNames: ["HF_TOKEN", "MY_API_KEY", "DB_PASSWORD"])
        #expect(capture.inputs["env:PYTHONHASHSEED"] == "0")
        #expect(capture.inputs["env:CUDA_VISIBLE_DEVICES"] == "1")
        #expect(capture.inputs["env:UNLISTED"] == nil)
        #expect(capture.inputs["env_withheld"] == #"["DB_PASSWORD","HF_TOKEN","MY_API_KEY"]"#)
        let everything = capture.inputs.map { $0.key + "=" + $0.value }.joined(separator: "\n")
        for secret in ["hf_top_secret", "k-123", "=pw"] { #expect(!everything.contains(secret)) }
        #expect(capture.inputs["command"] == #"["/bin/true"]"#)
        #expect(capture.inputs["executable"] == "/bin/true" || capture.inputs["executable"] == "/usr/bin/true")
    }

    @Test func aDirectoryDigestIsItsSortedManifestsDigest() throws {
        let directory = TemporaryDirectory()
        let root = directory.path + "/data"
        try FileManager.default.createDirectory(atPath: root + "/b", withIntermediateDirectories: true)
        try Data("one".utf8).write(to: URL(fileURLWithPath: root + "/a.txt"))
        try Data("two".utf8).write(to: URL(fileURLWithPath: root + "/b/c.txt"))
        let digest = try sha256Digest(ofPath: root)
        // The stated form: sha256sum's lines in byte order of the paths, hashed.
        func hex(_ text: String) -> String { SHA256.hex(of: Array(text.utf8)) }
        let manifest = "\(hex("one"))  a.txt\n\(hex("two"))  b/c.txt\n"
        #expect(digest == "sha256:" + hex(manifest))
        try Data("two!".utf8).write(to: URL(fileURLWithPath: root + "/b/c.txt"))
        #expect(try sha256Digest(ofPath: root) != digest)
        #expect(throws: RunlogError.self) { try sha256Digest(ofPath: root + "/missing") }
        #expect(throws: RunlogError.self) { try sha256Digest(ofPath: "/dev/null") }  // not a regular file
    }

    @Test func theVerdictNamesEachDifferenceAndLeavesSystemMetricsOut() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "e")
        func record(_ values: [Double], lr: String, cpu: Double) throws -> RunID {
            let run = try store.startRun(in: experiment, params: ["lr": lr], captureEnvironment: false)
            for (step, value) in values.enumerated() { try run.log("loss", value, step: Int64(step)) }
            try run.log("system/cpu_utilization_percentage", cpu)
            try run.logInput(name: "data", source: "/d", digest: "sha256:aa")
            try run.finish()
            return run.id
        }
        let a = try record([1, 0.5, 0.25], lr: "0.1", cpu: 10)
        let same = try record([1, 0.5, 0.25], lr: "0.1", cpu: 90)
        #expect(try store.reproduction(of: a, by: same).reproduced)
        #expect(try store.reproduction(of: a, by: same).pointsCompared == 3)

        let close = try record([1, 0.5, 0.2500001], lr: "0.1", cpu: 10)
        let exact = try store.reproduction(of: a, by: close)
        #expect(!exact.reproduced)
        #expect(exact.differences.map(\.step) == [2])
        #expect(exact.differences[0].description == "metric loss: first differs at step 2: 0.25 vs 0.2500001")
        #expect(try store.reproduction(of: a, by: close, tolerance: Tolerance(relative: 1e-6)).reproduced)
        #expect(try !store.reproduction(of: a, by: close, tolerance: Tolerance(relative: 1e-8)).reproduced)

        let other = try record([1, 0.5], lr: "0.2", cpu: 10)
        let differences = try store.reproduction(of: a, by: other).differences.map(\.description)
        #expect(differences == ["param lr: \"0.1\" vs \"0.2\"", "metric loss: 3 points vs 2"])
    }

    @Test func toleranceIsBitExactByDefaultAndNaNMatchesNaN() {
        #expect(Tolerance.exact.accepts(.nan, .nan))
        #expect(!Tolerance.exact.accepts(0.1 + 0.2, 0.3))
        #expect(Tolerance(absolute: 1e-12).accepts(0.1 + 0.2, 0.3))
        #expect(!Tolerance(absolute: 1).accepts(.infinity, 1))
        #expect(Tolerance(absolute: 1).accepts(.infinity, .infinity))
    }

    @Test func aRunStartedByTheSwiftAPIHasARecipeAndAnImportedOneSaysWhatIsMissing() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let captured = try store.startRun(in: try store.experiment(named: "e"))
        try captured.finish()
        let recipe = try RunRecipe.of(try store.run(captured.id), experimentName: "e")
        #expect(recipe.command == CommandLine.arguments)
        #expect(recipe.directory == FileManager.default.currentDirectoryPath)
        let bare = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        try bare.finish()
        let error = #expect(throws: RunlogError.self) { try RunRecipe.of(try store.run(bare.id), experimentName: "e") }
        #expect(error?.description.contains("no recorded command line and working directory") == true)
    }

    @Test func aSwiftProgramTakesUpTheRunItsEnvironmentNames() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"))
        #expect(try TrackingStore.attachedRun(environment: [:]) == nil)
        // Held by this writer: the attach waits, then names the holder.
        let held = #expect(throws: RunlogError.self) {
            _ = try TrackingStore.attachedRun(
                environment: ["RUNLOG_STORE": directory.store, "RUNLOG_RUN_ID": run.id.description],
                patience: .milliseconds(200))
        }
        #expect(held?.storeError?.code == .locked)
        try run.close()
        let attached = try #require(
            try TrackingStore.attachedRun(
                environment: ["RUNLOG_STORE": directory.store, "RUNLOG_RUN_ID": run.id.description]))
        try attached.run.log("loss", 1.5, step: 3)
        try attached.run.close()
        try store.refresh(run.id)
        #expect(try store.run(run.id).metrics["loss"]?.last.value == 1.5)
        #expect(throws: RunlogError.self) {
            _ = try TrackingStore.attachedRun(environment: ["RUNLOG_STORE": directory.store, "RUNLOG_RUN_ID": "nope"])
        }
    }
}

@Suite struct SystemMetricsTests {
    /// A directory laid out like /proc, with the files the sampler reads.
    struct FakeProc {
        let root: String
        init(_ directory: TemporaryDirectory) throws {
            root = directory.path + "/proc"
            for sub in ["net", "100", "101", "102"] {
                try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
            }
            try write(
                "meminfo", "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n")
            // 100 is the child, 101 its child, 102 someone else's.
            try write("100/stat", "100 (python3) S 1 100 100 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1000 2560 0 0")
            try write("101/stat", "101 (a (weird) name) R 100 100 100 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1000 512 0 0")
            try write("102/stat", "102 (bash) S 1 102 102 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1000 9999 0 0")
            try counters(busy: 1000, idle: 1000, sectorsRead: 0, sectorsWritten: 0, received: 5_000_000, sent: 1_000)
        }

        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + name))
        }

        func counters(busy: Int, idle: Int, sectorsRead: Int, sectorsWritten: Int, received: Int, sent: Int) throws {
            try write("stat", "cpu  \(busy) 0 0 \(idle) 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n")
            try write(
                "diskstats",
                """
                   7       0 loop0 99 0 999999 0 99 0 999999 0 0 0 0
                   8       0 sda 10 0 \(sectorsRead) 0 10 0 \(sectorsWritten) 0 0 0 0
                   8       1 sda1 10 0 \(sectorsRead) 0 10 0 \(sectorsWritten) 0 0 0 0

                """)
            try write(
                "net/dev",
                """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo: 999999999 0 0 0 0 0 0 0 999999999 0 0 0 0 0 0 0
                  eth0: \(received) 0 0 0 0 0 0 0 \(sent) 0 0 0 0 0 0 0

                """)
        }
    }

    @Test func samplesAreReadFromProcFilesUnderMLflowsNames() throws {
        let directory = TemporaryDirectory()
        let proc = try FakeProc(directory)
        var sampler = SystemSampler(processID: 100, procRoot: proc.root, diskPath: nil, gpuLibrary: nil)
        // 3000 ticks pass, 2250 of them busy; 2 MiB read, 1 MiB written; 3 MiB received.
        try proc.counters(
            busy: 3250, idle: 1750, sectorsRead: 4096, sectorsWritten: 2048, received: 5_000_000 + 3_145_728,
            sent: 1_000 + 1_048_576)
        let values = sampler.sample()
        #expect(values["system/cpu_utilization_percentage"] == 75)
        #expect(values["system/system_memory_usage_megabytes"] == 11_718.75)  // (16,000,000 - 4,000,000) kB
        #expect(values["system/system_memory_usage_percentage"] == 75)
        #expect(values["system/network_receive_megabytes"] == 3)
        #expect(values["system/network_transmit_megabytes"] == 1)
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        #expect(values["system/process_memory_rss_megabytes"] == (2560 + 512) * page / 1_048_576)
        // The throughputs are per second of the time between the samples: positive, and in the
        // ratio of the sectors (the partition and the loop device are not counted).
        let read = try #require(values["system/disk_read_megabytes_per_second"])
        let written = try #require(values["system/disk_write_megabytes_per_second"])
        #expect(read > 0 && abs(read / written - 2) < 1e-9)
        #expect(!values.keys.contains { $0.hasPrefix("system/gpu_") })
        #expect(values["system/disk_usage_percentage"] == nil)
    }

    @Test func gpusAreReadThroughNVMLUnderTheirDeviceNumbers() throws {
        let directory = TemporaryDirectory()
        let library = try FakeNVML.build(in: directory.path)
        var sampler = SystemSampler(processID: getpid(), gpuLibrary: library)
        let values = sampler.sample()
        // Device 0: 37 %, 2 of 8 GiB; device 1 fails and has no keys; device 2: 90 %, 12 of 16 GiB.
        #expect(values["system/gpu_0_utilization_percentage"] == 37)
        #expect(values["system/gpu_0_memory_usage_megabytes"] == 2048)
        #expect(values["system/gpu_0_memory_usage_percentage"] == 25)
        #expect(values["system/gpu_2_utilization_percentage"] == 90)
        #expect(values["system/gpu_2_memory_usage_megabytes"] == 12_288)
        #expect(values["system/gpu_2_memory_usage_percentage"] == 75)
        #expect(!values.keys.contains { $0.hasPrefix("system/gpu_1_") })
        #expect(values.keys.filter { $0.hasPrefix("system/gpu_") }.count == 6)
    }

    @Test func anNVMLThatDoesNotStartGivesNoGPUKeys() throws {
        let directory = TemporaryDirectory()
        let library = try FakeNVML.build(in: directory.path, initFails: true)
        var sampler = SystemSampler(processID: getpid(), gpuLibrary: library)
        #expect(!sampler.sample().keys.contains { $0.contains("gpu") })
    }

    @Test func withoutNVMLThereAreNoGPUKeysAndNoError() {
        var sampler = SystemSampler(processID: getpid(), gpuLibrary: "libnvidia-ml-not-installed.so.1")
        let values = sampler.sample()
        #expect(!values.keys.contains { $0.contains("gpu") })
        #expect(values["system/system_memory_usage_megabytes"] ?? 0 > 0)
        #expect(values["system/process_memory_rss_megabytes"] ?? 0 > 0)
        #expect((0...100).contains(values["system/disk_usage_percentage"] ?? -1))
    }

    @Test func theLoggerWritesSamplesIntoARunUntilStopped() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"))
        let logger = SystemMetricsLogger(run: run, every: .milliseconds(100))
        Thread.sleep(forTimeInterval: 0.45)
        logger.stop()
        try run.finish()
        let memory = try #require(try store.run(run.id).metrics["system/system_memory_usage_megabytes"])
        #expect((2...6).contains(memory.count))
        #expect(memory.first.step == 0 && memory.last.step == Int64(memory.count - 1))
    }
}

/// `Tests/support/fake-nvml.c` built into a shared library: NVML's five calls with known answers.
enum FakeNVML {
    static func build(in directory: String, initFails: Bool = false) throws -> String {
        let file = "\(#filePath)"
        let script = String(file[..<file.range(of: "/Tests/")!.lowerBound]) + "/Tests/support/build-fake-nvml"
        let library = directory + "/libfake-nvml.so"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [library] + (initFails ? ["-DINIT_FAILS"] : [])
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "build-fake-nvml failed")
        return library
    }
}
