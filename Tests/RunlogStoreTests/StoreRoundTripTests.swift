import Foundation
import RunlogReliability
import RunlogWorkloads
import Synchronization
import Testing

@testable import RunlogStore

@Suite struct StoreRoundTripTests {
    @Test(arguments: [(101, true), (102, false), (103, true), (104, false)] as [(UInt64, Bool)])
    func randomSeriesRoundTripThroughReopen(seed: UInt64, compression: Bool) throws {
        let directory = TemporaryDirectory()
        var random = SeededRandom(seed: seed)
        let options = storeOptions(
            compression: compression, blockPoints: 1 + Int(random.next() % 500), segmentSize: 16 << 10)
        var logged: [String: [MetricPoint]] = [:]
        let run: RunID
        do {
            let store = try Store.open(at: directory.store, options: options)
            let writer = try store.createRun()
            run = writer.runID
            let keys = ["loss", "acc", "lr/group 0", "grad.norm"]
            for _ in 0..<5000 {
                let key = keys[Int(random.next() % UInt64(keys.count))]
                let point = randomPoints(count: 1, &random)[0]
                try writer.log(key, step: point.step, timestamp: point.timestamp, value: point.value)
                logged[key, default: []].append(point)
                if random.next() % 700 == 0 { try writer.flush() }
            }
            try writer.close()
        }
        let store = try Store.open(at: directory.store, options: options)
        let reader = try store.openReader(run)
        #expect(reader.problems.isEmpty, "seed \(seed)")
        #expect(reader.tornTail == nil)
        #expect(Set(reader.index.keys) == Set(logged.keys))
        for (key, points) in logged {
            #expect(try reader.scan(key) == expectedScan(points), "seed \(seed), key \(key)")
            #expect(try chunked(reader, key) == expectedScan(points), "seed \(seed), key \(key)")
            let summary = try #require(reader.index.series(key)?.summary)
            #expect(summary.count == points.count)
            #expect(summary.latest == points.max { BlockSummary.isLater($1, than: $0) })
            #expect(summary.first == expectedScan(points).first)
            for _ in 0..<10 {
                let a = points[Int(random.next() % UInt64(points.count))]
                let b = points[Int(random.next() % UInt64(points.count))]
                let steps = min(a.step, b.step)...max(a.step, b.step)
                let times = min(a.timestamp, b.timestamp)...max(a.timestamp, b.timestamp)
                for range in [
                    ScanRange(steps: steps), ScanRange(timestamps: times), ScanRange(steps: steps, timestamps: times),
                ] {
                    #expect(try reader.scan(key, range: range) == expectedScan(points, range), "seed \(seed), \(range)")
                    #expect(try chunked(reader, key, range) == expectedScan(points, range), "seed \(seed), \(range)")
                }
            }
        }
        #expect(try segmentPaths(store, run).count > 1, "the log should have rolled over segments")
        #expect(try store.verify(run).isClean)
    }

    func chunked(_ reader: RunReader, _ key: String, _ range: ScanRange = .all) throws -> [MetricPoint] {
        var points: [MetricPoint] = []
        try reader.scan(key, range: range) { points.append(contentsOf: $0) }
        return points
    }

    @Test func chunkedScansStreamOrderedSeriesBlockByBlock() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 100))
        let writer = try store.createRun()
        for i in 0..<1000 { try writer.log("x", step: Int64(i), timestamp: Int64(i), value: Double(i)) }
        try writer.flush()
        for i in 1000..<1050 { try writer.log("x", step: Int64(i), timestamp: Int64(i), value: Double(i)) }
        var sizes: [Int] = []
        var points: [MetricPoint] = []
        try writer.scan("x") { chunk in
            sizes.append(chunk.count)
            points.append(contentsOf: chunk)
        }
        // Ten sealed blocks, then the staged points; all in order.
        #expect(sizes == Array(repeating: 100, count: 10) + [50])
        #expect(points.map(\.step) == Array(0..<1050))
        sizes = []
        try writer.scan("x", range: ScanRange(steps: 150...420)) { sizes.append($0.count) }
        #expect(sizes == [50, 100, 100, 21])
        // A step logged out of order makes blocks overlap: the scan merges them first.
        try writer.log("x", step: 5, timestamp: 0, value: -1)
        points = []
        try writer.scan("x") { points.append(contentsOf: $0) }
        #expect(points == (try writer.scan("x")))
        #expect(
            points[5] == MetricPoint(step: 5, timestamp: 0, value: -1)
                && points[6] == MetricPoint(step: 5, timestamp: 5, value: 5))
        try writer.close()
    }

    @Test func writerScansIncludeUnsealedPoints() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 100))
        let writer = try store.createRun()
        let loss = try writer.series("loss")
        var logged: [MetricPoint] = []
        for i in 0..<250 {
            let point = MetricPoint(step: Int64(250 - i), timestamp: Int64(i), value: Double(i))
            try writer.log(loss, step: point.step, timestamp: point.timestamp, value: point.value)
            logged.append(point)
        }
        // 200 points are sealed (maybe not yet written), 50 staged: all are visible.
        #expect(try writer.scan("loss") == expectedScan(logged))
        #expect(
            try writer.scan("loss", range: ScanRange(steps: 10...20)) == expectedScan(logged, ScanRange(steps: 10...20))
        )
        try writer.flush()
        #expect(writer.index.series("loss")?.summary?.count == 250)
        #expect(try writer.scan("loss") == expectedScan(logged))
        try writer.close()
    }

    /// A flush keeps room in each series for what it staged since its last seal, never a whole
    /// block's: 20,000 keys of a point each kept 20,000 × 8,192 points of room (5 KB resident a
    /// key in `ratio-figures`, and a large allocation each).
    @Test func aFlushKeepsRoomOnlyForWhatEachSeriesStaged() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 8192))
        let writer = try store.createRun()
        for k in 0..<20_000 { try writer.log("layer_\(k)/grad_norm", step: 0, timestamp: 0, value: 1) }
        let hot = try writer.series("loss")
        for i in 0..<3_000 { try writer.log(hot, step: Int64(i), timestamp: 0, value: 1) }
        try writer.flush()
        let hotSlot = writer.state.withLock { $0.slot(of: "loss")! }
        var room = 0
        var hotRoom = 0
        for shard in 0..<writer.shards.count {
            writer.shards.withLock(shard) { sh in
                room += sh.staging.reduce(0) { $0 + $1.capacity }
                if hotSlot < sh.staging.count { hotRoom += sh.staging[hotSlot].capacity }
            }
        }
        #expect(hotRoom >= 3_000 && hotRoom < 8_192, "the hot series keeps room for what it staged")
        #expect(room - hotRoom == 0, "\(room - hotRoom) points of room for 20,000 keys of one point")
        for i in 3_000..<3_100 { try writer.log(hot, step: Int64(i), timestamp: 0, value: 2) }
        try writer.close()
        let reader = try store.openReader(writer.runID)
        #expect(reader.index.series.count == 20_001)
        #expect(try reader.scan("loss").count == 3_100)
    }

    @Test func flushedDataIsVisibleToAReaderWhileTheWriterRuns() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 64))
        let writer = try store.createRun()
        for i in 0..<100 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }
        try writer.flush()
        let reader = try store.openReader(writer.runID)
        #expect(try reader.scan("x").count == 100)
        for i in 100..<130 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }
        try writer.append(.tag(key: "phase", value: "eval", timestamp: 5))
        try writer.flush()
        #expect(try reader.scan("x").count == 100, "a reader sees new data only after refresh")
        try reader.refresh()
        #expect(try reader.scan("x").count == 130)
        #expect(reader.index.records == [.tag(key: "phase", value: "eval", timestamp: 5)])
        try writer.close()
    }

    @Test func aReaderThatSeesTheRunEndSeesEveryPointLoggedBeforeIt() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 64))
        let writer = try store.createRun()
        for i in 0..<10 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }  // staged, not sealed
        try writer.append(.status(.finished, timestamp: 1))
        // The sealer writes the status record without a flush; wait (at most 5 s) until a reader
        // sees it: the ten points must be in the log before it.
        let reader = try store.openReader(writer.runID)
        let deadline = ContinuousClock.now + .seconds(5)
        while reader.index.records.isEmpty && ContinuousClock.now < deadline {
            usleep(1000)
            try reader.refresh()
        }
        try #require(reader.index.records == [.status(.finished, timestamp: 1)])
        #expect(try reader.scan("x").count == 10)
        try writer.close()
    }

    @Test func metadataRecordsRoundTripInLogOrder() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions())
        let writer = try store.createRun()
        let records: [RunRecord] = [
            .status(.running, timestamp: 1), .param(key: "lr", value: "0.001", timestamp: 2),
            .tag(key: "note", value: "ünïcødé ✓", timestamp: 3),
            .input(name: "dataset", value: "sha256:ab", timestamp: 4),
            .param(key: "empty", value: "", timestamp: 5), .status(.finished, timestamp: 6),
            .attribute(key: "run_name", value: "brave-owl-7", timestamp: 7),
        ]
        for record in records { try writer.append(record) }
        try writer.close()
        #expect(try store.openReader(writer.runID).index.records == records)
    }

    @Test func reopenedWriterAppendsToTheSameSeries() throws {
        let directory = TemporaryDirectory()
        let options = storeOptions(blockPoints: 10)
        let store = try Store.open(at: directory.store, options: options)
        let first = try store.createRun()
        for i in 0..<25 { try first.log("loss", step: Int64(i), timestamp: 0, value: Double(i)) }
        try first.log("acc", step: 0, timestamp: 0, value: 0.5)
        try first.close()
        let second = try store.openWriter(first.runID)
        #expect(second.recovery.truncatedTail == nil)
        for i in 25..<40 { try second.log("loss", step: Int64(i), timestamp: 0, value: Double(i)) }
        try second.log("new", step: 1, timestamp: 0, value: 1)
        try second.close()
        let reader = try store.openReader(first.runID)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<40))
        #expect(try reader.scan("acc").count == 1)
        #expect(try reader.scan("new").count == 1)
        #expect(reader.problems.isEmpty)
    }

    @Test func invalidInputIsRefusedAndChangesNothing() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions())
        let writer = try store.createRun()
        try writer.log("ok", step: 1, timestamp: 1, value: 1)
        #expect { try writer.series("") } throws: { ($0 as? StoreError)?.code == .invalidArgument }
        #expect { try writer.series("a\0b") } throws: { ($0 as? StoreError)?.code == .invalidArgument }
        #expect { try writer.series(String(repeating: "k", count: 2000)) } throws: {
            ($0 as? StoreError)?.code == .invalidArgument
        }
        #expect {
            try writer.append(.tag(key: "t", value: String(repeating: "v", count: 2 << 20), timestamp: 0))
        } throws: {
            ($0 as? StoreError)?.code == .invalidArgument
        }
        try writer.close()
        #expect { try writer.log("ok", step: 2, timestamp: 2, value: 2) } throws: {
            ($0 as? StoreError)?.code == .closed
        }
        let reader = try store.openReader(writer.runID)
        #expect(reader.index.keys == ["ok"])
        #expect(reader.index.records.isEmpty)
    }

    @Test func storeRefusesNewerFormatsAndForeignDirectories() throws {
        let directory = TemporaryDirectory()
        _ = try Store.open(at: directory.store)
        try writeFile(directory.store + "/STORE", Array("runlog store format 9\n".utf8))
        #expect { try Store.open(at: directory.store) } throws: { ($0 as? StoreError)?.code == .unsupportedVersion }
        try writeFile(directory.path + "/file", [1, 2, 3])
        #expect { try Store.open(at: directory.path) } throws: { ($0 as? StoreError)?.code == .invalidArgument }
        #expect { try Store.open(at: directory.path + "/missing", create: false) } throws: {
            ($0 as? StoreError)?.code == .notFound
        }
    }
}

@Suite struct StoreCreationTests {
    @Test func processesCreatingOneStoreAtOnceAllSucceed() throws {
        for round in 0..<200 {
            let directory = TemporaryDirectory()
            let path = directory.path + "/nested/store"
            let failures = Mutex<[String]>([])
            let group = DispatchGroup()
            for _ in 0..<4 {
                group.enter()
                Thread.detachNewThread {
                    do {
                        _ = try Store.open(at: path)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                    group.leave()
                }
            }
            group.wait()
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
            #expect(try PosixFileSystem().contentsOfDirectory(path).sorted() == ["STORE", "runs"])
        }
    }
}
