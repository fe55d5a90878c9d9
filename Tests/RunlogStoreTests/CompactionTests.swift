import Foundation
import RunlogReliability
import RunlogWorkloads
import Synchronization
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

/// A run written in several sessions with small blocks, frequent flushes, out-of-order and
/// duplicate steps, several series and metadata: everything compaction must preserve.
struct MessyRun {
    let directory = TemporaryDirectory()
    let options: StoreOptions
    let store: Store
    let run: RunID
    var logged: [String: [MetricPoint]] = [:]
    var records: [RunRecord] = []

    init(seed: UInt64, sessions: Int = 3, pointsPerSession: Int = 1500, indexSnapshots: Bool = false) throws {
        var random = SeededRandom(seed: seed)
        options = storeOptions(
            blockPoints: 64 + Int(random.next() % 200), segmentSize: 8 << 10, indexSnapshots: indexSnapshots)
        store = try Store.open(at: directory.store, options: options)
        let first = try store.createRun()
        run = first.runID
        try first.close()
        for session in 0..<sessions {
            let writer = try store.openWriter(run)
            for i in 0..<pointsPerSession {
                let key = ["loss", "acc", "lr"][Int(random.next() % 3)]
                let point = randomPoints(count: 1, &random, extremes: false)[0]
                try writer.log(key, step: point.step, timestamp: point.timestamp, value: point.value)
                logged[key, default: []].append(point)
                if random.next() % 97 == 0 { try writer.flush() }
                if i % 500 == 0 {
                    let record = RunRecord.tag(key: "session", value: "\(session)-\(i)", timestamp: Int64(i))
                    try writer.append(record)
                    records.append(record)
                }
            }
            try writer.close()
        }
    }

    func expect(_ reader: RunReader, _ note: Comment) throws {
        #expect(reader.index.records == records, note)
        for (key, points) in logged {
            #expect(try reader.scan(key) == expectedScan(points), note)
            let summary = reader.index.series(key)?.summary
            #expect(summary?.count == points.count, note)
            #expect(summary?.latest == points.max { BlockSummary.isLater($1, than: $0) }, note)
            #expect(summary?.first == expectedScan(points).first, note)
        }
    }
}

@Suite struct CompactionTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func compactionKeepsEveryAnswerAndShrinksTheLog(seed: UInt64) throws {
        let messy = try MessyRun(seed: seed)
        let before = try messy.store.openReader(messy.run)
        try messy.expect(before, "seed \(seed), before")
        var random = SeededRandom(seed: seed)
        let ranges = (0..<5).map { _ in
            let a = Int64(random.next() % 2000)
            return ScanRange(steps: a...(a + Int64(random.next() % 500)))
        }
        let answers = try ranges.map { range in try before.scan("loss", range: range) }
        let report = try messy.store.compact(messy.run)
        #expect(report.outcome == .compacted, "seed \(seed): \(report)")
        #expect(report.segmentsBefore > 1 && report.segmentsAfter == 1)
        #expect(report.blocksAfter < report.blocksBefore)
        #expect(report.points == messy.logged.values.reduce(0) { $0 + $1.count })
        let after = try messy.store.openReader(messy.run)
        try messy.expect(after, "seed \(seed), after")
        #expect(try ranges.map { try after.scan("loss", range: $0) } == answers)
        #expect(after.problems.isEmpty && after.tornTail == nil)
        #expect(try segmentPaths(messy.store, messy.run).count == 1)
        #expect(try messy.store.verify(messy.run).isClean)
        // The reader opened before compaction still answers: it finds the new segment.
        try messy.expect(before, "seed \(seed), reader from before")
        // A writer appends after compaction, and a second compaction keeps it all.
        let writer = try messy.store.openWriter(messy.run)
        try writer.log("loss", step: 99_999, timestamp: 1, value: 7)
        try writer.close()
        var messier = messy
        messier.logged["loss", default: []].append(MetricPoint(step: 99_999, timestamp: 1, value: 7))
        try messier.expect(try messy.store.openReader(messy.run), "seed \(seed), appended after compaction")
        #expect(try messy.store.compact(messy.run).outcome == .compacted)
        try messier.expect(try messy.store.openReader(messy.run), "seed \(seed), compacted twice")
    }

    @Test func readersScanningWhileCompactionRunsSeeIdenticalAnswers() throws {
        let messy = try MessyRun(seed: 11, sessions: 2, pointsPerSession: 3000)
        let expected = messy.logged.mapValues { expectedScan($0) }
        let stop = Mutex(false)
        let failures = Mutex<[String]>([])
        let compactions = Mutex(0)
        let group = DispatchGroup()
        group.enter()
        let (store, run) = (messy.store, messy.run)
        Thread.detachNewThread {
            defer { group.leave() }
            while !stop.withLock({ $0 }) {
                do {
                    let report = try store.compact(run)
                    if report.outcome == .compacted { compactions.withLock { $0 += 1 } }
                } catch {
                    failures.withLock { $0.append("compaction: \(error)") }
                }
            }
        }
        for round in 0..<300 {
            do {
                let reader = try messy.store.openReader(messy.run)
                for key in expected.keys.sorted() where try reader.scan(key) != expected[key] {
                    failures.withLock { $0.append("round \(round): \(key) differs") }
                }
                var chunked: [MetricPoint] = []
                try reader.scan("loss") { chunked.append(contentsOf: $0) }
                if chunked != expected["loss"] {
                    failures.withLock { $0.append("round \(round): chunked loss differs") }
                }
            } catch {
                failures.withLock { $0.append("round \(round): \(error)") }
            }
        }
        stop.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { Array($0.prefix(5)) })")
        #expect(compactions.withLock { $0 } > 3, "compaction ran while readers scanned")
    }

    @Test func aFailureAfterEachFileOperationLeavesEveryPointOnce() throws {
        // Count the operations of one successful compaction.
        let counting = try MessyRun(seed: 21, sessions: 2, pointsPerSession: 600, indexSnapshots: true)
        let fs = FaultyFileSystem()
        var options = counting.options
        options.fileSystem = fs
        let countingStore = try Store.open(at: counting.directory.store, options: options)
        fs.faults.withLock { $0.operations = 0 }
        #expect(try countingStore.compact(counting.run).outcome == .compacted)
        let total = fs.faults.withLock { $0.operations }
        #expect(total > 6, "open, write, sync, rename, directory sync, unlinks, directory sync")
        for failAt in 1...total {
            let messy = try MessyRun(seed: 21, sessions: 2, pointsPerSession: 600, indexSnapshots: true)
            let fs = FaultyFileSystem()
            var options = messy.options
            options.fileSystem = fs
            let faulty = try Store.open(at: messy.directory.store, options: options)
            fs.faults.withLock {
                $0.operations = 0
                $0.failAtOperation = failAt
            }
            // Failures before the rename abort the compaction, after it leave it done; either way…
            _ = try? faulty.compact(messy.run)
            // Whatever was done before the failure, a fresh open reads every point exactly once.
            let reader = try messy.store.openReader(messy.run)
            try messy.expect(reader, "failure at operation \(failAt) of \(total)")
            #expect(reader.problems.isEmpty, "failure at operation \(failAt)")
            #expect(try messy.store.verify(messy.run).isClean, "failure at operation \(failAt)")
            // The next writer clears what the interrupted compaction left; a new compaction completes.
            try messy.store.openWriter(messy.run).close()
            #expect(try messy.store.compact(messy.run).outcome == .compacted, "failure at operation \(failAt)")
            try messy.expect(try messy.store.openReader(messy.run), "compacted after failure at \(failAt)")
            #expect(try segmentPaths(messy.store, messy.run).count == 1)
        }
    }

    @Test func aCompactionDoesNotPublishOverPointsLoggedWhileItWrote() throws {
        let messy = try MessyRun(seed: 23, sessions: 2, pointsPerSession: 600)
        let fs = FaultyFileSystem()
        var options = messy.options
        options.fileSystem = fs
        let faulty = try Store.open(at: messy.directory.store, options: options)
        // After the compaction has read the run and written its output, before it publishes, a
        // writer (another process, through the real file system) appends and lets go.
        let (store, run) = (messy.store, messy.run)
        fs.faults.withLock {
            $0.before = (
                "fsync", Compaction.temporaryPrefix,
                {
                    guard let writer = try? store.openWriter(run) else { return }
                    for step in 0..<50 { try? writer.log("extra", step: Int64(step), timestamp: 0, value: 1) }
                    try? writer.close()
                }
            )
        }
        let report = try faulty.compact(run)
        #expect(report.outcome != .compacted, "published over a run that changed: \(report.outcome)")
        let reader = try store.openReader(run)
        #expect(try reader.scan("extra").count == 50)
        try messy.expect(reader, "after the deferred compaction")
        #expect(try store.compact(run).outcome == .compacted)
        #expect(try store.openReader(run).scan("extra").count == 50)
    }

    @Test func aCompactionThatCannotWriteLeavesNoTemporaryFile() throws {
        let messy = try MessyRun(seed: 22, sessions: 2, pointsPerSession: 600, indexSnapshots: true)
        let fs = FaultyFileSystem()
        var options = messy.options
        options.fileSystem = fs
        let faulty = try Store.open(at: messy.directory.store, options: options)
        fs.faults.withLock { $0.failWritesAfterBytes = $0.bytesWritten + 100 }  // the disk fills up
        #expect(throws: StoreError.self) { try faulty.compact(messy.run) }
        let files = try FileManager.default.contentsOfDirectory(atPath: messy.directory.store + "/runs/\(messy.run)")
        #expect(!files.contains { $0.hasPrefix("compaction-") }, "\(files)")
        try messy.expect(try messy.store.openReader(messy.run), "after the failed compaction")
    }

    @Test(arguments: [31, 32, 33] as [UInt64])
    func aCompactionKilledAtRandomLeavesEveryPointOnce(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let messy = try MessyRun(seed: seed, sessions: 2, pointsPerSession: 2000)
        for round in 0..<4 {
            let child = try ChildProcess(
                builtProduct("RunlogTestWriter"), [messy.directory.store, messy.run.description, "compact"])
            for _ in 0..<(random.next() % 3) { _ = child.readLine() }
            usleep(UInt32(random.next() % 4000))
            child.kill()
            child.wait()
            let note: Comment = "seed \(seed), round \(round)"
            try messy.expect(try messy.store.openReader(messy.run), note)
            #expect(try messy.store.verify(messy.run).isClean, note)
        }
    }

    @Test func aRunBeingWrittenIsDeferredAndCompactedWhenItsWriterCloses() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 100, backgroundCompaction: true))
        let writer = try store.createRun()
        for i in 0..<5000 { try writer.log("x", step: Int64(i), timestamp: Int64(i), value: Double(i)) }
        try writer.flush()
        let report = try store.compact(writer.runID)
        #expect(report.outcome == .deferred("a writer holds the run"))
        try writer.close()
        store.waitForBackgroundCompaction()
        let background = store.backgroundCompactionReports.first { $0.runID == writer.runID }
        #expect(background?.outcome == .compacted)
        #expect(background?.blocksBefore == 50 && background?.blocksAfter == 1)
        #expect(try store.openReader(writer.runID).scan("x").map(\.step) == Array(0..<5000))
        // Compacted once, the policy finds nothing more to do.
        #expect(try store.compact(writer.runID, force: false).outcome == .notNeeded)
    }

    @Test func cancellationDiscardsTheOutputAndLeavesTheRunUntouched() throws {
        let messy = try MessyRun(seed: 41)
        let segmentsBefore = try segmentPaths(messy.store, messy.run)
        let calls = Mutex(0)
        let compaction = Compaction(
            fileSystem: PosixFileSystem(), directory: messy.store.directory(of: messy.run), runID: messy.run,
            options: messy.options,
            isCancelled: {
                calls.withLock {
                    $0 += 1; return $0 > 1
                }
            })
        #expect(try compaction.run(force: true).outcome == .cancelled)
        #expect(try segmentPaths(messy.store, messy.run) == segmentsBefore)
        #expect(
            try PosixFileSystem().contentsOfDirectory(messy.store.directory(of: messy.run)).allSatisfy {
                !$0.hasSuffix(".tmp")
            })
        try messy.expect(try messy.store.openReader(messy.run), "after a cancelled compaction")
    }

    @Test func closingTheStoreStopsBackgroundCompaction() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 64, backgroundCompaction: true))
        for _ in 0..<5 {
            let writer = try store.createRun()
            for i in 0..<20_000 { try writer.log("x", step: Int64(i), timestamp: 0, value: Double(i)) }
            try writer.close()
        }
        store.close()  // returns once the compactor thread has exited
        for run in try store.runs() {
            #expect(try store.openReader(run).scan("x").count == 20_000)
            #expect(try store.verify(run).isClean)
        }
    }

    /// Regression: a series arriving in 8,192-point blocks fills exactly one 65,536-point block
    /// after eight of them, where block cutting once read one point past the end.
    @Test func seriesOfExactMultiplesOfTheBlockSizeCompact() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 8192))
        let writer = try store.createRun()
        let count = 2 * BlockHeader.maxPoints
        for i in 0..<count { try writer.log("x", step: Int64(i), timestamp: 0, value: Double(i)) }
        for i in 0..<BlockHeader.maxPoints { try writer.log("same", step: 7, timestamp: Int64(i), value: 1) }
        try writer.close()
        let report = try store.compact(writer.runID)
        #expect(report.outcome == .compacted && report.points == count + BlockHeader.maxPoints)
        let reader = try store.openReader(writer.runID)
        #expect(try reader.scan("x").map(\.step) == Array(0..<Int64(count)))
        #expect(
            reader.index.series("x")?.blocks.map(\.summary.count) == [BlockHeader.maxPoints, BlockHeader.maxPoints])
        #expect(try reader.scan("same").count == BlockHeader.maxPoints)
    }

    @Test func blocksAreCutBetweenSteps() {
        var points = (0..<(BlockHeader.maxPoints + 10)).map { MetricPoint(step: Int64($0 / 4), timestamp: 0, value: 0) }
        let cut = Compaction.cut(points)
        #expect(cut <= BlockHeader.maxPoints && points[cut - 1].step != points[cut].step)
        points = (0..<(BlockHeader.maxPoints + 10)).map { _ in MetricPoint(step: 1, timestamp: 0, value: 0) }
        #expect(Compaction.cut(points) == BlockHeader.maxPoints, "one step with more points than a block holds")
        points = (0..<(BlockHeader.maxPoints + 1)).map { MetricPoint(step: Int64($0), timestamp: 0, value: 0) }
        #expect(Compaction.cut(points) == BlockHeader.maxPoints, "one point more than a block")
    }

    @Test func segmentFlagsThisBuildDoesNotKnowAreRefused() throws {
        let log = try SmallLog()
        try writeFile(log.segment, withHeaderByte(log.bytes, 10, 0x02))
        #expect { try log.store.openReader(log.run) } throws: { ($0 as? StoreError)?.code == .unsupportedVersion }
    }
}
