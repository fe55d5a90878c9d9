import RunlogReliability
import RunlogWorkloads
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FaultInjectionTests {
    func options(_ fs: FaultyFileSystem, durability: Durability = .onFlush, blockPoints: Int = 64) -> StoreOptions {
        var options = storeOptions(blockPoints: blockPoints, segmentSize: 8192, durability: durability)
        options.fileSystem = fs
        return options
    }

    @Test func shortWritesLoseNothing() throws {
        let directory = TemporaryDirectory()
        let fs = FaultyFileSystem()
        fs.faults.withLock { $0.maxBytesPerWrite = 7 }
        let store = try Store.open(at: directory.store, options: options(fs))
        let writer = try store.createRun()
        var random = SeededRandom(seed: 5)
        let points = randomPoints(count: 3000, &random)
        for point in points { try writer.log("x", step: point.step, timestamp: point.timestamp, value: point.value) }
        try writer.append(.param(key: "k", value: "v", timestamp: 0))
        try writer.close()
        #expect(fs.faults.withLock { $0.writeCalls } > 100, "writes were really split")
        let reader = try Store.open(at: directory.store).openReader(writer.runID)
        #expect(try reader.scan("x") == expectedScan(points))
        #expect(reader.index.records.count == 1)
        #expect(reader.problems.isEmpty)
    }

    @Test func aFailedWriteLatchesTheWriterAndEveryLaterCallSaysWhy() throws {
        let directory = TemporaryDirectory()
        let fs = FaultyFileSystem()
        let store = try Store.open(at: directory.store, options: options(fs))
        let writer = try store.createRun()
        for i in 0..<100 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }
        try writer.flush()
        fs.faults.withLock { $0.failWritesAfterBytes = $0.bytesWritten + 10 }
        // The sealer fails on the first block it writes: whichever call comes next reports it.
        let failure = #expect(throws: StoreError.self) {
            for i in 100..<200 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }
            try writer.flush()
        }
        #expect(failure?.code == .failed)
        #expect("\(failure!)".contains("No space left on device"))
        for call in [
            { try writer.log("x", step: 1, timestamp: 0, value: 1) }, { try writer.flush() },
            { try writer.append(.tag(key: "a", value: "b", timestamp: 0)) }, { _ = try writer.scan("x") },
        ] as [() throws -> Void] {
            let later = #expect(throws: StoreError.self) { try call() }
            #expect(later?.code == .failed)
            #expect(later?.description == failure?.description)
        }
        #expect { try writer.close() } throws: { ($0 as? StoreError)?.code == .failed }
        // What was flushed before the failure is intact; the partial write reads as a torn tail.
        fs.faults.withLock { $0.failWritesAfterBytes = nil }
        let reader = try store.openReader(writer.runID)
        #expect(try reader.scan("x").map(\.step) == Array(0..<100))
        #expect(reader.problems.isEmpty)
    }

    @Test func aFailedFsyncLatchesTheWriter() throws {
        let directory = TemporaryDirectory()
        let fs = FaultyFileSystem()
        let store = try Store.open(at: directory.store, options: options(fs))
        let writer = try store.createRun()
        try writer.log("x", step: 1, timestamp: 0, value: 1)
        try writer.flush()
        fs.faults.withLock { $0.failSync = true }
        try writer.log("x", step: 2, timestamp: 0, value: 1)
        let failure = #expect(throws: StoreError.self) { try writer.flush() }
        #expect(failure?.code == .failed)
        #expect("\(failure!)".contains("fsync"))
        let later = #expect(throws: StoreError.self) { try writer.log("x", step: 3, timestamp: 0, value: 1) }
        #expect(later?.description == failure?.description)
        fs.faults.withLock { $0.failSync = false }
        #expect(throws: StoreError.self) { try writer.close() }
    }

    @Test func durabilitySettingsDecideWhenFsyncRuns() throws {
        for (durability, expectSyncs) in [(Durability.never, false), (.onFlush, true)] {
            let directory = TemporaryDirectory()
            let fs = FaultyFileSystem()
            let store = try Store.open(at: directory.store, options: options(fs, durability: durability))
            let writer = try store.createRun()
            let before = fs.faults.withLock { $0.syncCalls }
            for i in 0..<10 {
                try writer.log("x", step: Int64(i), timestamp: 0, value: 1)
                try writer.flush()
            }
            let syncs = fs.faults.withLock { $0.syncCalls } - before
            #expect(expectSyncs ? syncs >= 10 : syncs == 0, "\(durability): \(syncs) fsyncs")
            try writer.close()
        }
        // With an interval, the sealer syncs in the background without a flush asking.
        let directory = TemporaryDirectory()
        let fs = FaultyFileSystem()
        let store = try Store.open(
            at: directory.store, options: options(fs, durability: .interval(milliseconds: 20), blockPoints: 8))
        let writer = try store.createRun()
        let before = fs.faults.withLock { $0.syncCalls }
        for i in 0..<16 { try writer.log("x", step: Int64(i), timestamp: 0, value: 1) }
        var waited = 0
        while fs.faults.withLock({ $0.syncCalls }) == before && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        #expect(fs.faults.withLock { $0.syncCalls } > before, "an interval sync happened without flush")
        try writer.close()
    }

    @Test func backpressureBoundsBufferedPoints() throws {
        let directory = TemporaryDirectory()
        let fs = FaultyFileSystem()
        fs.faults.withLock { $0.writeDelayMicroseconds = 2000 }
        var options = self.options(fs, durability: .never, blockPoints: 100)
        options.maxBufferedPoints = 1000
        let store = try Store.open(at: directory.store, options: options)
        let writer = try store.createRun()
        let series = try (0..<3).map { try writer.series("s\($0)") }
        for i in 0..<20_000 { try writer.log(series[i % 3], step: Int64(i), timestamp: 0, value: 1) }
        try writer.close()
        #expect(writer.peakBufferedPoints <= 1000 + 1, "peak \(writer.peakBufferedPoints)")
        let reader = try store.openReader(writer.runID)
        #expect(reader.index.series.values.reduce(0) { $0 + ($1.summary?.count ?? 0) } == 20_000)
    }
}
