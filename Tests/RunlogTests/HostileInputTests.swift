import Logging
import RunlogReliability
import RunlogStore
import Testing

@testable import Runlog

#if canImport(Glibc)
    import Glibc
#endif

/// Input meant to break things, at the API: each gets a clear error (or is stored exactly), and
/// nothing stored before is lost or altered, and nothing is written outside the store.
@Suite struct HostileInputTests {
    /// Every file under `path`, relative to it.
    static func files(under path: String) -> Set<String> {
        Set(RunlogReliability.files(under: path).map { String($0.dropFirst(path.count + 1)) })
    }

    @Test func pathTricksInNamesAndKeysNeverReachOutsideTheStore() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let tricks = ["..", "../..", "../../escape", "/etc/passwd", "a/../../b", "./.", "~root", "%2e%2e%2f", "名前/.."]
        for name in tricks {
            // Experiment and run names are data, not paths: stored as given, found by name.
            let experiment = try store.experiment(named: name)
            #expect(try store.experiment(named: name).id == experiment.id)
            let run = try store.startRun(in: experiment, name: name, captureEnvironment: false)
            try run.setTag("note", name)
            try run.logParam("path", name)
            try run.finish()
            #expect(try store.run(run.id).name == name)
        }
        // Keys are paths in MLflow's file store: `..` segments, empty segments and NUL are refused.
        let run = try store.startRun(in: try store.experiment(named: "keys"), captureEnvironment: false)
        for key in ["..", "../x", "a/../../b", "/abs", "x//y", "nul\0key", "a\u{0}/../b"] {
            #expect { try run.log(key, 1) } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
            #expect { try run.setTag(key, "v") } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        }
        #expect { try store.experiment(named: "nul\0name") } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        #expect { try store.experiment(id: "../../..") } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        try run.finish()
        // Everything written is under the store directory.
        #expect(Self.files(under: directory.path).allSatisfy { $0.hasPrefix("store/") })
        let reopened = try makeStore(directory)
        #expect(Set(try reopened.experiments().map(\.name)) == Set(tricks + ["keys"]))
    }

    @Test func oversizedValuesAreRefusedWithTheLimitAndChangeNothing() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "big"), captureEnvironment: false)
        try run.setTag("kept", "small")
        let megabyte = String(repeating: "x", count: 1 << 20)
        for attempt in [
            { try run.setTag("t", megabyte) }, { try run.logParam("p", megabyte) },
            { try run.logInput(name: "i", source: megabyte) },
            { try run.log(String(repeating: "k", count: 1 << 20), 1) },
        ] as [() throws -> Void] {
            #expect { try attempt() } throws: { error in
                let error = error as? RunlogError
                return error?.code == .invalidArgument && error!.message.contains("limit")
            }
        }
        #expect { try store.experiment(named: megabyte) } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
        try run.finish()
        let info = try makeStore(directory).run(run.id)
        #expect(info.tags == ["kept": "small"])
        #expect(info.params.isEmpty && info.metrics.isEmpty)
    }

    @Test func specialValuesAndExtremeStepsRoundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory, blockPoints: 4)
        let run = try store.startRun(in: try store.experiment(named: "extremes"), captureEnvironment: false)
        let points: [(Int64, Double)] = [
            (.min, .nan), (.max, .infinity), (0, -.infinity), (-1, -0.0), (.min + 1, .greatestFiniteMagnitude),
            (.max - 1, .leastNonzeroMagnitude), (1, -.nan),
        ]
        for (step, value) in points { try run.log("v", value, step: step, timestamp: step) }
        try run.finish()
        let history = try makeStore(directory).history(of: run.id, "v")
        let expected = points.sorted { $0.0 < $1.0 }
        #expect(history.map(\.step) == expected.map(\.0))
        #expect(history.map(\.timestamp) == expected.map(\.0))
        #expect(history.map(\.value.bitPattern) == expected.map(\.1.bitPattern))
    }

    @Test func manyDistinctKeysAreStoredAndListed() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "keys"), captureEnvironment: false)
        let count = 20_000  // the campaign logs a million (`runlog-campaign --only hostile`)
        for i in 0..<count { try run.log("metric/\(i)", Double(i), step: Int64(i)) }
        try run.finish()
        let info = try makeStore(directory).run(run.id)
        #expect(info.metrics.count == count)
        #expect(info.metrics["metric/12345"]?.last.value == 12345)
    }

    @Test func aParamLoggedAgainWithAnotherValueNamesBothAndKeepsTheFirst() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "p"), captureEnvironment: false)
        try run.logParam("lr", "0.1")
        try run.logParam("lr", "0.1")  // the same value again is fine
        #expect { try run.logParam("lr", "0.2") } throws: { error in
            let error = error as? RunlogError
            return error?.code == .paramConflict && error!.message.contains("0.1") && error!.message.contains("0.2")
        }
        try run.finish()
        #expect(try makeStore(directory).run(run.id).params == ["lr": "0.1"])
    }

    @Test func aReadOnlyStoreReadsAndRefusesWritesClearly() throws {
        let directory = TemporaryDirectory()
        let writable = try makeStore(directory)
        let experiment = try writable.experiment(named: "ro")
        let run = try writable.startRun(in: experiment, params: ["lr": "0.1"], captureEnvironment: false)
        for step in 0..<100 { try run.log("loss", 1 / Double(step + 1), step: Int64(step)) }
        try run.finish()
        let before = Self.files(under: directory.store)

        var options = StoreOptions()
        options.fileSystem = FaultyFileSystem(readOnly: true)
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try TrackingStore.open(at: directory.store, options: options)
        #expect(try store.history(of: run.id, "loss").count == 100)
        #expect(try store.search("params.lr = '0.1'").runs.map(\.id) == [run.id])
        #expect { try store.startRun(in: experiment, captureEnvironment: false) } throws: { error in
            "\(error)".contains("Read-only file system")
        }
        #expect { try store.experiment(named: "new") } throws: { "\($0)".contains("Read-only file system") }
        #expect { try store.setStatus(.killed, of: run.id) } throws: { "\($0)".contains("Read-only file system") }
        #expect(Self.files(under: directory.store) == before)
        #expect(try makeStore(directory).history(of: run.id, "loss").count == 100)
    }

    @Test func aFullDiskFailsTheWriterClearlyAndKeepsWhatWasFlushed() throws {
        let directory = TemporaryDirectory()
        let faulty = FaultyFileSystem()
        var options = StoreOptions()
        options.fileSystem = faulty
        options.durability = .never
        options.blockPoints = 64
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try TrackingStore.open(at: directory.store, options: options)
        let run = try store.startRun(in: try store.experiment(named: "full"), captureEnvironment: false)
        for step in 0..<1000 { try run.log("loss", Double(step), step: Int64(step)) }
        try run.flush()
        faulty.faults.withLock { $0.failWritesAfterBytes = $0.bytesWritten + 100 }
        var failure: (any Error)?
        for step in 1000..<100_000 where failure == nil {
            do {
                try run.log("loss", Double(step), step: Int64(step))
                if step % 500 == 0 { try run.flush() }
            } catch {
                failure = error
            }
        }
        #expect("\(failure.map { "\($0)" } ?? "no error")".contains("No space left on device"))
        // The writer stays failed; the store reopens (space freed) with everything flushed before.
        #expect { try run.flush() } throws: { "\($0)".contains("No space left on device") }
        faulty.faults.withLock { $0.failWritesAfterBytes = nil }
        let history = try makeStore(directory).history(of: run.id, "loss")
        #expect(history.count >= 1000)
        #expect(history.map(\.step) == (0..<Int64(history.count)).map { $0 })
    }

    @Test func aStoreOfANewerFormatIsRefusedByNameAndLeftAlone() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "v"), captureEnvironment: false)
        try run.log("loss", 1)
        try run.finish()
        try writeFile(directory.store + "/STORE", Array("runlog store format 2\n".utf8))
        let before = Self.files(under: directory.store)
        #expect { try makeStore(directory) } throws: { error in
            "\(error)".contains("has format 2; this build reads formats up to 1")
        }
        #expect(Self.files(under: directory.store) == before)
    }
}
