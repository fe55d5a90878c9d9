import Foundation
import RunlogReliability
import Synchronization
import Testing

@testable import RunlogStore

/// A writer that flushes often compacts what it has finished with while it writes
/// (`LiveCompaction`): the run shrinks, and every reader — in this process or not, opened before
/// or after — reads every point once, whatever step a crash stops at.
@Suite struct LiveCompactionTests {
    static let curves = 4

    /// The value of curve `c` at `step`: a checker can tell a misplaced point from the right one.
    static func value(_ c: Int, _ step: Int) -> Double { Double(step) * 0.5 + Double(c) * 1e6 }

    static func options(liveBytes: Int = 8 << 10) -> StoreOptions {
        var options = storeOptions(blockPoints: 256, backgroundCompaction: true)
        options.liveCompactionBytes = liveBytes
        return options
    }

    /// Logs `steps` steps of the curves, flushing every `every` steps, a param every 1,000 steps;
    /// `afterFlush` runs after each flush.
    static func write(
        _ writer: RunWriter, steps: Range<Int>, every: Int = 10, afterFlush: () throws -> Void = {}
    ) throws {
        let series = try (0..<curves).map { try writer.series("curve_\($0)") }
        for step in steps {
            for c in 0..<curves {
                try writer.log(series[c], step: Int64(step), timestamp: Int64(step), value: value(c, step))
            }
            if step % 1000 == 999 { try writer.append(.param(key: "p\(step)", value: "\(step)", timestamp: 0)) }
            if step % every == every - 1 {
                try writer.flush()
                try afterFlush()
            }
        }
    }

    /// Whether `points` are exactly curve `c`'s steps `0..<count`.
    static func isCurve(_ points: [MetricPoint], _ c: Int, count: Int) -> Bool {
        points.count == count
            && points.enumerated().allSatisfy { i, p in p.step == Int64(i) && p.value == value(c, i) }
    }

    static func expectWhole(
        _ scan: (String) throws -> [MetricPoint], steps: Int, _ note: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for c in 0..<curves {
            #expect(isCurve(try scan("curve_\(c)"), c, count: steps), note, sourceLocation: sourceLocation)
        }
    }

    static func liveBytes(_ store: Store, _ run: RunID) throws -> Int64 {
        try segmentPaths(store, run).reduce(Int64(0)) { $0 + (PosixFileSystem().fileSize($1) ?? 0) }
    }

    @Test func aRunFlushedOftenShrinksWhileItIsWrittenAndReadsWhole() throws {
        let steps = 20_000
        var sizes: [Int64] = []
        for liveBytes in [8 << 10, Int.max] {
            let directory = TemporaryDirectory()
            let store = try Store.open(at: directory.store, options: Self.options(liveBytes: liveBytes))
            let writer = try store.createRun()
            try Self.write(writer, steps: 0..<100)
            // A reader that has read the first segments before any of them is replaced.
            let early = try store.openReader(writer.runID)
            try Self.expectWhole({ try early.scan($0) }, steps: 100, "the early reader, before")
            try Self.write(writer, steps: 100..<steps)
            store.waitForBackgroundCompaction()
            sizes.append(try Self.liveBytes(store, writer.runID))
            let live = store.backgroundCompactionReports.filter { $0.whileWritten && $0.outcome == .compacted }
            if liveBytes == Int.max {
                #expect(live.isEmpty)
                try writer.close()
                continue
            }
            #expect(live.count >= 3, "\(store.backgroundCompactionReports)")
            try Self.expectWhole({ try writer.scan($0) }, steps: steps, "the writer")
            try early.refresh()
            try Self.expectWhole({ try early.scan($0) }, steps: steps, "the early reader, after")
            #expect(early.index.records.count == steps / 1000)
            try Self.expectWhole({ try store.openReader(writer.runID).scan($0) }, steps: steps, "a new reader")
            // Only the compacted segment and the one being written are left, and no temporary file.
            let entries = try PosixFileSystem().contentsOfDirectory(store.directory(of: writer.runID))
            #expect(entries.filter { $0.hasSuffix(".segment") }.count <= 2, "\(entries)")
            #expect(!entries.contains { $0.hasSuffix(".tmp") }, "\(entries)")
            try writer.close()
            store.waitForBackgroundCompaction()
            let reopened = try store.openReader(writer.runID)
            try Self.expectWhole({ try reopened.scan($0) }, steps: steps, "after close and compaction")
            #expect(reopened.index.records.count == steps / 1000)
            #expect(try store.verify(writer.runID).isClean)
            // The writer goes on where it stopped.
            let again = try store.openWriter(writer.runID)
            try Self.write(again, steps: steps..<(steps + 5000))
            try again.close()
            try Self.expectWhole({ try store.openReader(writer.runID).scan($0) }, steps: steps + 5000, "written again")
        }
        // Flushed every 10 steps into 256-point blocks: compacted while written, the run is smaller.
        #expect(sizes[0] * 10 < sizes[1] * 7, "\(sizes)")
    }

    @Test func readersAndWriterScansDuringLiveCompactionsSeeWholePrefixes() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: Self.options(liveBytes: 4 << 10))
        let writer = try store.createRun()
        try Self.write(writer, steps: 0..<10)
        let reader = try store.openReader(writer.runID)
        let done = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let scans = Atomic<Int>(0)
        let checker = Thread {
            // Each scan is a whole prefix of a curve: never a point missing, repeated or misplaced.
            while !done.load(ordering: .acquiring) {
                do {
                    try reader.refresh()
                    for c in 0..<Self.curves {
                        let fromReader = try reader.scan("curve_\(c)")
                        let fromWriter = try writer.scan("curve_\(c)")
                        for (name, points) in [("reader", fromReader), ("writer", fromWriter)]
                        where !Self.isCurve(points, c, count: points.count) {
                            failures.withLock { $0.append("\(name) curve \(c): \(points.count) points, not a prefix") }
                        }
                    }
                    scans.add(1, ordering: .relaxed)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        checker.start()
        try Self.write(writer, steps: 10..<15_000)
        store.waitForBackgroundCompaction()
        done.store(true, ordering: .releasing)
        while !checker.isFinished { usleep(1000) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { Array($0.prefix(5)) })")
        #expect(scans.load(ordering: .relaxed) > 0)
        #expect(store.backgroundCompactionReports.contains { $0.whileWritten && $0.outcome == .compacted })
        try writer.close()
    }

    /// A crash after the compacted segment was renamed into place but before the segments it
    /// replaces were deleted: they are back beside it, and every point still reads once.
    @Test func replacedSegmentsLeftByACrashAreIgnoredThenRemoved() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: Self.options())
        let writer = try store.createRun()
        let runDirectory = store.directory(of: writer.runID)
        let stash = directory.path + "/stash"
        try FileManager.default.createDirectory(atPath: stash, withIntermediateDirectories: true)
        // After each flush, keep a copy of every segment (one a compaction deleted since the
        // listing keeps its copy from the flush before: readers must ignore whatever it holds).
        try Self.write(writer, steps: 0..<8000) {
            for path in try segmentPaths(store, writer.runID) {
                let copy = stash + "/" + (path as NSString).lastPathComponent
                let fresh = stash + "/fresh"
                guard (try? FileManager.default.copyItem(atPath: path, toPath: fresh)) != nil else { continue }
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.moveItem(atPath: fresh, toPath: copy)
            }
        }
        store.waitForBackgroundCompaction()
        #expect(store.backgroundCompactionReports.contains { $0.whileWritten && $0.outcome == .compacted })
        var options = Self.options()
        options.backgroundCompaction = false
        try writer.close()
        // The state a crash leaves between the rename and the deletions: every replaced segment back.
        let live = Set(try FileManager.default.contentsOfDirectory(atPath: runDirectory))
        var restored = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: stash)
        where name.hasSuffix(".segment") && !live.contains(name) {
            try FileManager.default.copyItem(atPath: stash + "/" + name, toPath: runDirectory + "/" + name)
            restored += 1
        }
        #expect(restored >= 2)
        try? FileManager.default.removeItem(atPath: runDirectory + "/" + IndexSnapshot.fileName)
        let crashed = try Store.open(at: directory.store, options: options)
        try Self.expectWhole({ try crashed.openReader(writer.runID).scan($0) }, steps: 8000, "beside replaced segments")
        #expect(try crashed.verify(writer.runID).isClean)
        // The next writer deletes them.
        try crashed.openWriter(writer.runID).close()
        let after = try FileManager.default.contentsOfDirectory(atPath: runDirectory).filter {
            $0.hasSuffix(".segment")
        }
        #expect(after.count < live.filter { $0.hasSuffix(".segment") }.count + restored, "\(after)")
        try Self.expectWhole({ try crashed.openReader(writer.runID).scan($0) }, steps: 8000, "after the next writer")
    }

    /// A crash before the rename leaves the output under its temporary name, and the segment the
    /// writer had ended with a gap after it: the next writer removes the one, and the other reads.
    @Test func aCrashBeforePublishingLeavesTheRunAsItWas() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 256))
        let writer = try store.createRun()
        try Self.write(writer, steps: 0..<3000)
        try writer.close()
        let runDirectory = store.directory(of: writer.runID)
        // The sealer's roll leaves a sequence number free: segment 3 follows segment 1.
        let next = try SegmentAppender(
            fileSystem: PosixFileSystem(), directory: runDirectory, runID: writer.runID, segmentSize: 1 << 20,
            syncOnRoll: false, sequence: 1, offset: PosixFileSystem().fileSize(runDirectory + "/00000001.segment")!)
        #expect(try next.rollLeavingGap() == 1)
        try next.close()
        #expect(FileManager.default.fileExists(atPath: runDirectory + "/00000003.segment"))
        let leftover = runDirectory + "/\(LiveCompaction.temporaryPrefix)999999-2.tmp"
        try Data("half a segment".utf8).write(to: URL(fileURLWithPath: leftover))
        try Self.expectWhole({ try store.openReader(writer.runID).scan($0) }, steps: 3000, "with a gap and a leftover")
        let again = try store.openWriter(writer.runID)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        try Self.write(again, steps: 3000..<4000)
        try again.close()
        try Self.expectWhole({ try store.openReader(writer.runID).scan($0) }, steps: 4000, "written after the gap")
        #expect(try store.verify(writer.runID).isClean)
    }

    /// A live compaction that finishes after its writer closed publishes nothing.
    @Test func aLiveCompactionAfterItsWriterClosedLeavesTheRunUntouched() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 256))
        let writer = try store.createRun()
        try Self.write(writer, steps: 0..<2000)
        let (source, base) = writer.state.withLock { ($0.index, $0.base) }
        try writer.close()
        let before = try segmentPaths(store, writer.runID)
        let job = LiveCompaction(
            runID: writer.runID, directory: store.directory(of: writer.runID), source: source, base: base,
            ended: 1, state: writer.state, files: writer.files, options: storeOptions(blockPoints: 256))
        let report = job.run(isCancelled: { false })
        #expect(report.outcome == .deferred("the writer closed first"))
        #expect(try segmentPaths(store, writer.runID) == before)
        let entries = try PosixFileSystem().contentsOfDirectory(store.directory(of: writer.runID))
        #expect(!entries.contains { $0.hasSuffix(".tmp") })
        try Self.expectWhole(
            { try store.openReader(writer.runID).scan($0) }, steps: 2000, "after the abandoned compaction")
    }
}
