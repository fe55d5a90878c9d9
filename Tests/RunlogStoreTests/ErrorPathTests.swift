import Logging
import RunlogReliability
import RunlogWorkloads
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

/// The engine's error paths, one by one: every file operation of every store call is made to fail
/// in turn, and every read of every kind of file; each failure must be a clear `StoreError` and
/// must lose nothing already stored.
@Suite struct ErrorPathTests {
    /// A store with a closed run of several segments (A), a run whose writer died mid-record (B),
    /// and a run whose compaction died before deleting the segments it replaced (C).
    struct Scene {
        let directory = TemporaryDirectory()
        var a = RunID.random()
        var b = RunID.random()
        var c = RunID.random()
        static let steps = 600

        init() throws {
            let store = try Store.open(at: directory.store, options: Self.options(PosixFileSystem()))
            for run in [a, b, c] {
                let writer = try store.createRun(run)
                for step in 0..<Int64(Self.steps) {
                    for (k, key) in Ledger.keys.enumerated() {
                        try writer.log(
                            key, step: step, timestamp: Ledger.timestamp(step: step),
                            value: Ledger.value(series: k, step: step))
                    }
                }
                try writer.append(.param(key: "lr", value: "0.1", timestamp: 1))
                try writer.close()
            }
            // B: a record torn by a crash at the end of its last segment.
            let last = try segmentPaths(store, b).last!
            try writeFile(last, try readFile(last) + [0x11, 0x22, 0x33, 0x44, 0x40, 0, 0, 0, 1, 9, 9])
            // C: compacted, with its first replaced segment put back, as if the deletion never ran.
            let first = try segmentPaths(store, c).first!
            let firstBytes = try readFile(first)
            try store.compact(c)
            try writeFile(first, firstBytes)
        }

        static func options(_ fileSystem: any FileSystem) -> StoreOptions {
            var options = storeOptions(blockPoints: 64, segmentSize: 4096, durability: .onFlush, indexSnapshots: true)
            options.fileSystem = fileSystem
            return options
        }

        /// Everything stored before is still there, whatever failed.
        func check(_ note: Comment) throws {
            let store = try Store.open(at: directory.store, options: Self.options(PosixFileSystem()), create: false)
            for run in [a, b, c] where try store.runs().contains(run) {
                let reader = try store.openReader(run)
                let findings = Ledger.check(
                    reader, acknowledged: [Self.steps, Self.steps, Self.steps], expectation: .prefix)
                #expect(findings.all == [], note)
                #expect(reader.index.records.count == 1, note)
                #expect(try store.verify(run).isClean, note)
            }
        }
    }

    static let actions: [(String, @Sendable (Store, Scene) throws -> Void)] = [
        (
            "create a store",
            { store, scene in _ = try Store.open(at: scene.directory.path + "/new", options: store.options) }
        ),
        (
            "create a run and log",
            { store, _ in
                let writer = try store.createRun()
                for step in 0..<300 { try writer.log("x", step: Int64(step), timestamp: 0, value: 1) }
                try writer.close()
            }
        ),
        (
            "recover a torn tail and log",
            { store, scene in
                let writer = try store.openWriter(scene.b)
                try writer.log("after", step: 1, timestamp: 1, value: 1)
                try writer.close()
            }
        ),
        ("remove replaced segments", { store, scene in try store.openWriter(scene.c).close() }),
        ("compact", { store, scene in try store.compact(scene.a) }),
        (
            "delete and restore",
            { store, scene in
                try store.deleteRun(scene.a, at: 1_764_547_200_000); try store.restoreRun(scene.a)
            }
        ),
        ("remove a deleted run", { store, _ in try store.removeRun(store.createRun().runID) }),
    ]

    @Test(arguments: 0..<actions.count)
    func aFailureAtEachFileOperationIsAnErrorAndLosesNothing(action index: Int) throws {
        let (name, action) = Self.actions[index]
        // Count the operations the action makes when nothing fails.
        let counting = try Scene()
        let counter = FaultyFileSystem()
        let countingStore = try Store.open(at: counting.directory.store, options: Scene.options(counter))
        counter.faults.withLock { $0.operations = 0 }
        try action(countingStore, counting)
        let operations = counter.faults.withLock { $0.operations }
        #expect(operations > 0)
        for failAt in 1...operations {
            let scene = try Scene()
            let faulty = FaultyFileSystem()
            let store = try Store.open(at: scene.directory.store, options: Scene.options(faulty))
            faulty.faults.withLock {
                $0.operations = 0
                $0.failAtOperation = failAt
            }
            let note: Comment = "\(name), operation \(failAt) of \(operations) fails"
            do {
                try action(store, scene)
            } catch let error as StoreError {
                #expect([.io, .failed].contains(error.code), note)
                #expect("\(error)".contains("Input/output error"), note)
            }
            store.close()
            try scene.check(note)
        }
    }

    @Test func failedReadsAreIOErrorsNamingTheFile() throws {
        let scene = try Scene()
        let faulty = FaultyFileSystem()
        let store = try Store.open(at: scene.directory.store, options: Scene.options(faulty))
        func fails(_ part: String, _ body: () throws -> Void) {
            faulty.faults.withLock { $0.failReadsOfPathsContaining = part }
            defer { faulty.faults.withLock { $0.failReadsOfPathsContaining = nil } }
            #expect("\(part)") {
                try body()
            } throws: { error in
                let error = error as? StoreError
                return error?.code == .io && "\(error!)".contains(part)
            }
        }
        fails("/runs") { _ = try store.runs() }
        fails("STORE") { _ = try Store.open(at: scene.directory.store, options: Scene.options(faulty)) }
        fails(scene.a.description) { _ = try store.openReader(scene.a) }
        fails(scene.c.description) { _ = try store.openReader(scene.c) }
        let reader = try store.openReader(scene.a)
        fails(".segment") { _ = try reader.scan("loss") }
        fails(".segment") { _ = try store.verify(scene.a) }
        // Nothing was harmed.
        try scene.check("after failed reads")
    }

    @Test func optionsOutsideTheirRangeAreRefused() {
        var options = StoreOptions()
        for (change, text) in [
            ({ (o: inout StoreOptions) in o.blockPoints = 0 }, "blockPoints 0"),
            ({ (o: inout StoreOptions) in o.blockPoints = 65_537 }, "blockPoints 65537"),
            ({ (o: inout StoreOptions) in o.segmentSize = 100 }, "segmentSize 100"),
            ({ (o: inout StoreOptions) in o.maxBufferedPoints = 10 }, "maxBufferedPoints 10"),
            ({ (o: inout StoreOptions) in o.durability = .interval(milliseconds: 0) }, "interval 0 ms"),
        ] {
            options = StoreOptions()
            change(&options)
            #expect("\(text)") {
                _ = try Store.open(at: "/nonexistent/never-created", options: options)
            } throws: { error in
                (error as? StoreError)?.code == .invalidArgument && "\(error)".contains(text)
            }
        }
    }

    @Test func verifyReportsABlockThatPassesItsChecksumButDoesNotDecode() throws {
        let log = try SmallLog()
        let block = log.records.first { $0.type == .block }!
        // The block without its last byte, framed with a good checksum: a writer bug, not a disk fault.
        let payload = Array(log.bytes[(block.offset + RecordFrame.headerSize)..<(block.end - 1)])
        let bytes =
            Array(log.bytes[..<block.offset]) + RecordFrame.framed(type: .block, payload: payload)
            + Array(log.bytes[block.end...])
        try writeFile(log.segment, bytes)
        let report = try log.store.verify(log.run)
        #expect(!report.isClean)
        #expect(report.problems.map(\.kind) == [.undecodableRecord])
        #expect(report.problems.first?.location.file == log.segment)
    }

    @Test func verifyReportsASnapshotOfAnotherRun() throws {
        let one = try SmallLog(indexSnapshots: true)
        let other = try Store.open(at: one.directory.store, options: storeOptions(indexSnapshots: true))
        let writer = try other.createRun()
        try writer.log("x", step: 1, timestamp: 1, value: 1)
        try writer.close()
        let source = one.store.directory(of: writer.runID) + "/INDEX"
        try writeFile(one.store.directory(of: one.run) + "/INDEX", try readFile(source))
        let report = try one.store.verify(one.run)
        #expect(report.problems.map(\.kind) == [.damagedIndexSnapshot])
        #expect(report.problems.first?.detail.contains("belongs to run \(writer.runID)") == true)
    }

    @Test func segmentsOutOfPlaceAreSkippedAndReported() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 4, segmentSize: 4096))
        let writer = try store.createRun()
        for step in 0..<3000 { try writer.log("x", step: Int64(step), timestamp: 0, value: 1) }
        try writer.close()
        let paths = try segmentPaths(store, writer.runID)
        #expect(paths.count >= 3)
        // Segment 2 holds segment 1's header (a file copied over another), segment 3 is cut short.
        try writeFile(paths[1], try readFile(paths[0]))
        try writeFile(paths[2], Array(try readFile(paths[2]).prefix(20)))
        let report = try store.verify(writer.runID)
        let details = report.problems.map(\.detail)
        #expect(details.contains { $0.contains("header says segment 1") })
        #expect(details.contains { $0.contains("shorter than its header") })
        #expect(!report.isClean)
    }

    @Test func smallValueTypesDescribeAndHashThemselves() throws {
        let point = MetricPoint(step: 3, timestamp: 4, value: 0.5)
        #expect("\(point)" == "(step 3, t 4, 0.5)")
        #expect(Set([point, point, MetricPoint(step: 3, timestamp: 4, value: .nan)]).count == 2)
        let log = try SmallLog()
        let reader = try log.store.openReader(log.run)
        let summaries = reader.index.series.values.compactMap(\.summary)
        #expect(Set(summaries + summaries).count == summaries.count)
        #expect(reader.index.estimatedMemory > 0)
        reader.closeFiles()
        #expect(try reader.scan("loss").count == 10)
        let report = try log.store.compact(log.run)
        #expect("\(report)".contains("run \(log.run):"))
        #expect("\(report)".contains("segment"))
    }

    @Test func misuseOfTheStoreIsAClearError() throws {
        let directory = TemporaryDirectory()
        try writeFile(directory.path + "/plain-file", [1])
        #expect { try Store.open(at: directory.path + "/plain-file") } throws: {
            ($0 as? StoreError)?.code == .invalidArgument && "\($0)".contains("is a file, not a store directory")
        }
        let store = try Store.open(at: directory.store, options: storeOptions())
        let writer = try store.createRun()
        #expect { try store.createRun(writer.runID) } throws: { "\($0)".contains("already exists") }
        try writer.close()
    }
}
