import RunlogReliability
import RunlogWorkloads
import Synchronization
import Testing

@testable import RunlogStore

@Suite struct IndexSnapshotTests {
    func writeSession(_ store: Store, _ run: RunID, steps: Range<Int64>) throws {
        let writer = try store.runs().contains(run) ? store.openWriter(run) : store.createRun(run)
        for step in steps { try writer.log("loss", step: step, timestamp: step, value: Double(step)) }
        try writer.append(.tag(key: "through", value: "\(steps.upperBound)", timestamp: 0))
        try writer.close()
    }

    func snapshotPath(_ store: Store, _ run: RunID) -> String { store.directory(of: run) + "/INDEX" }

    @Test func aRunOpensFromItsSnapshotWithTheSameIndex() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 100, indexSnapshots: true))
        let run = RunID.random()
        try writeSession(store, run, steps: 0..<1000)
        let fast = try store.openReader(run)
        let full = try store.openReader(run, useSnapshot: false)
        #expect(fast.openedFromSnapshot && !full.openedFromSnapshot)
        #expect(fast.index.records == full.index.records)
        #expect(fast.index.series("loss")?.blocks == full.index.series("loss")?.blocks)
        #expect(fast.index.series("loss")?.summary == full.index.series("loss")?.summary)
        #expect(try fast.scan("loss") == (try full.scan("loss")))
        // A writer reopening the run starts from it too, and appends where the log ends.
        try writeSession(store, run, steps: 1000..<1500)
        #expect(try store.openReader(run).scan("loss").map(\.step) == Array(0..<1500))
    }

    @Test func anUnchangedRunOpensEachOfItsFilesOnceAndAskingForAMissingOneNamesIt() throws {
        // The tail check reads a byte past the snapshot's end: none there, the refresh has nothing
        // to read in the last segment and does not open it again; the directory's listing stands
        // for a stat of the directory.
        let directory = TemporaryDirectory()
        let files = CountingFileSystem()
        var options = storeOptions(blockPoints: 100, indexSnapshots: true)
        options.fileSystem = files
        let store = try Store.open(at: directory.store, options: options)
        let run = RunID.random()
        try writeSession(store, run, steps: 0..<1000)
        let segments = try segmentPaths(store, run).map { String($0.split(separator: "/").last!) }
        #expect(segments.count == 1, "an earlier segment would be held to its recorded size by a stat")
        files.reset()
        let reader = try store.openReader(run)
        #expect(reader.openedFromSnapshot && !reader.isDeleted)
        let opened = files.opened.map { String($0.split(separator: "/").last!) }
        #expect(opened == ["INDEX", segments.last!])
        #expect(files.stats.isEmpty)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<1000))
        // What is appended later is still read by the next refresh.
        try writeSession(store, run, steps: 1000..<1010)
        try reader.refresh()
        #expect(try reader.scan("loss").map(\.step) == Array(0..<1010))
        try store.deleteRun(run, at: 1)
        try reader.refresh()
        #expect(reader.isDeleted)
        #expect { try store.openReader(RunID.random()) } throws: { ($0 as? StoreError)?.code == .notFound }
    }

    @Test func aStaleSnapshotServesAsAPrefixOfAGrownLog() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 100, segmentSize: 1 << 20, indexSnapshots: true))
        let run = RunID.random()
        try writeSession(store, run, steps: 0..<1000)
        let old = try readFile(snapshotPath(store, run))
        try writeSession(store, run, steps: 1000..<2000)
        try writeFile(snapshotPath(store, run), old)  // as if the second writer had died before saving one
        let reader = try store.openReader(run)
        #expect(reader.openedFromSnapshot)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<2000))
        #expect(reader.index.records.count == 2)
    }

    @Test func staleCorruptOrForeignSnapshotsAreRebuiltNotTrusted() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 100, segmentSize: 8 << 10, indexSnapshots: true))
        let run = RunID.random()
        let other = RunID.random()
        try writeSession(store, run, steps: 0..<3000)
        try writeSession(store, other, steps: 0..<10)
        let good = try readFile(snapshotPath(store, run))
        let expected = try store.openReader(run, useSnapshot: false).scan("loss")
        func check(_ note: Comment) throws {
            let reader = try store.openReader(run)
            #expect(!reader.openedFromSnapshot, note)
            #expect(try reader.scan("loss") == expected, note)
        }
        var flipped = good
        flipped[flipped.count / 2] ^= 0x10
        try writeFile(snapshotPath(store, run), flipped)
        try check("a flipped byte")
        try writeFile(snapshotPath(store, run), Array(good.prefix(good.count - 7)))
        try check("truncated")
        try writeFile(snapshotPath(store, run), try readFile(snapshotPath(store, other)))
        try check("another run's snapshot")
        try writeFile(snapshotPath(store, run), Array(repeating: 0xFF, count: 64))
        try check("garbage")
        // The bytes the snapshot ends on changed (the segment was rewritten): stale.
        try writeFile(snapshotPath(store, run), good)
        let segments = try segmentPaths(store, run)
        var last = try readFile(segments.last!)
        last[last.count - 3] ^= 0x01
        try writeFile(segments.last!, last)
        #expect(!(try store.openReader(run).openedFromSnapshot), "changed tail bytes")
        last[last.count - 3] ^= 0x01
        try writeFile(segments.last!, last)
        #expect(try store.openReader(run).openedFromSnapshot, "restored: valid again")
        // The last segment ends before what the snapshot covers (its tail is what shows it): stale.
        try writeFile(segments.last!, Array(last.prefix(last.count - 5)))
        #expect(!(try store.openReader(run).openedFromSnapshot), "a last segment shorter than the snapshot's end")
        try writeFile(segments.last!, last)
        #expect(try store.openReader(run).openedFromSnapshot, "restored: valid once more")
        // A segment it lists is gone or another appeared below its end: stale.
        try writeFile(segments.first! + ".bak", try readFile(segments.first!))
        try PosixFileSystem().remove(segments.first!)
        #expect(!(try store.openReader(run).openedFromSnapshot), "a listed segment is missing")
    }

    @Test func aSegmentBelowTheLastCutShortMakesTheSnapshotStale() throws {
        // The snapshot's tail check covers the last segment; each earlier one is held to its size.
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 100, segmentSize: 8 << 10, indexSnapshots: true))
        let run = RunID.random()
        let writer = try store.createRun(run)
        for step in Int64(0)..<6000 {
            try writer.log("loss", step: step, timestamp: step, value: DamagedRun.value(step))
        }
        try writer.close()
        let segments = try segmentPaths(store, run)
        try #require(segments.count >= 3)
        let first = try readFile(segments[0])
        try writeFile(segments[0], Array(first.prefix(first.count - 40)))
        let reader = try store.openReader(run)
        #expect(!reader.openedFromSnapshot, "a snapshot over a shorter earlier segment was trusted")
        #expect(reader.problems.contains { $0.losesData }, "\(reader.problems)")
        let grown = first + Array(repeating: 0, count: 16)
        try writeFile(segments[0], grown)
        #expect(!(try store.openReader(run).openedFromSnapshot), "a longer earlier segment")
        try writeFile(segments[0], first)
        #expect(try store.openReader(run).openedFromSnapshot, "restored: valid again")
    }

    @Test func compactionReplacesTheSnapshotAndAnOldOneIsRejected() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: 100, segmentSize: 8 << 10, indexSnapshots: true))
        let run = RunID.random()
        try writeSession(store, run, steps: 0..<3000)
        let before = try readFile(snapshotPath(store, run))
        #expect(try store.compact(run).outcome == .compacted)
        let fresh = try store.openReader(run)
        #expect(fresh.openedFromSnapshot, "compaction saved a snapshot of the new segment")
        #expect(try fresh.scan("loss").map(\.step) == Array(0..<3000))
        try writeFile(snapshotPath(store, run), before)
        let rebuilt = try store.openReader(run)
        #expect(!rebuilt.openedFromSnapshot, "the old snapshot names segments compaction deleted")
        #expect(try rebuilt.scan("loss").map(\.step) == Array(0..<3000))
    }

    @Test func snapshotsOfEveryKindOfRecordRoundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(indexSnapshots: true))
        let writer = try store.createRun()
        let records: [RunRecord] = [
            .status(.running, timestamp: 1), .param(key: "p", value: "ü", timestamp: 2),
            .tag(key: "t", value: "", timestamp: 3),
            .input(name: "i", value: "{}", timestamp: 4), .attribute(key: "run_name", value: "x", timestamp: 5),
        ]
        for record in records { try writer.append(record) }
        for value in [Double.nan, .infinity, -0.0, 1] { try writer.log("v", step: 1, timestamp: 1, value: value) }
        try writer.close()
        let reader = try store.openReader(writer.runID)
        #expect(reader.openedFromSnapshot)
        #expect(reader.index.records == records)
        #expect(try reader.scan("v").map(\.value.bitPattern) == [Double.nan, .infinity, -0.0, 1].map(\.bitPattern))
    }
}

/// The real file system, remembering which files were opened and which paths were stat'ed.
final class CountingFileSystem: FileSystem {
    private let base = PosixFileSystem()
    private let seen = Mutex<(opened: [String], stats: [String])>(([], []))

    var opened: [String] { seen.withLock { $0.opened } }
    var stats: [String] { seen.withLock { $0.stats } }
    func reset() { seen.withLock { $0 = ([], []) } }

    func open(_ path: String, writable: Bool, create: Bool) throws -> any FileHandle {
        seen.withLock { $0.opened.append(path) }
        return try base.open(path, writable: writable, create: create)
    }
    func exists(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        seen.withLock { $0.stats.append(path) }
        return base.exists(path)
    }
    func fileSize(_ path: String) -> Int64? {
        seen.withLock { $0.stats.append(path) }
        return base.fileSize(path)
    }
    func createDirectory(_ path: String) throws { try base.createDirectory(path) }
    func contentsOfDirectory(_ path: String) throws -> [String] { try base.contentsOfDirectory(path) }
    func syncDirectory(_ path: String) throws { try base.syncDirectory(path) }
    func rename(_ source: String, to destination: String) throws { try base.rename(source, to: destination) }
    func link(_ source: String, to destination: String) throws -> Bool { try base.link(source, to: destination) }
    func remove(_ path: String) throws { try base.remove(path) }
    func removeDirectory(_ path: String) throws { try base.removeDirectory(path) }
}
