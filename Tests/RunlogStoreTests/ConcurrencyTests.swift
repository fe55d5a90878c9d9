import Foundation
import RunlogReliability
import RunlogWorkloads
import Synchronization
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ConcurrencyTests {
    @Test func eightThreadsLogIntoOneRunWhileAReaderScans() throws {
        let directory = TemporaryDirectory()
        var options = storeOptions(blockPoints: 512, segmentSize: 256 << 10)
        options.maxBufferedPoints = 8192
        let store = try Store.open(at: directory.store, options: options)
        let writer = try store.createRun()
        let threads = 8
        let perThread = 20_000
        let done = Mutex(0)
        let readerErrors = Mutex<[String]>([])
        for t in 0..<threads {
            Thread.detachNewThread {
                do {
                    let own = try writer.series("thread \(t)")
                    let shared = try writer.series("shared")
                    for i in 0..<perThread {
                        try writer.log(own, step: Int64(i), timestamp: Int64(t), value: Double(i))
                        try writer.log(shared, step: Int64(t * perThread + i), timestamp: Int64(i), value: Double(t))
                        if i % 5000 == 4999 { try writer.flush() }
                    }
                } catch {
                    readerErrors.withLock { $0.append("thread \(t): \(error)") }
                }
                done.withLock { $0 += 1 }
            }
        }
        // Scan while they log: counts only grow, order always holds, nothing appears twice.
        let reader = try store.openReader(writer.runID)
        var lastWriterCount = 0
        var lastReaderCount = 0
        var scans = 0
        while done.withLock({ $0 }) < threads || scans < 3 {
            let seen = try writer.scan("shared")
            #expect(seen.count >= lastWriterCount)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.step < $1.step })
            lastWriterCount = seen.count
            try reader.refresh()
            let flushed = try reader.scan("shared")
            #expect(flushed.count >= lastReaderCount)
            #expect(Set(flushed.map(\.step)).count == flushed.count)
            lastReaderCount = flushed.count
            scans += 1
        }
        #expect(readerErrors.withLock { $0 }.isEmpty, "\(readerErrors.withLock { $0 })")
        try writer.close()
        let final = try store.openReader(writer.runID)
        #expect(try final.scan("shared").map(\.step) == Array(0..<Int64(threads * perThread)))
        for t in 0..<threads {
            #expect(try final.scan("thread \(t)").map(\.step) == Array(0..<Int64(perThread)))
        }
        #expect(final.problems.isEmpty)
    }

    /// Threads stage into shards of their own: a flush from another thread, once they have
    /// logged, writes what every shard holds, and scans of the writer see each point once.
    @Test func aFlushWritesWhatEveryThreadsShardStaged() throws {
        let directory = TemporaryDirectory()
        var options = storeOptions(blockPoints: 1000)
        options.maxBufferedPoints = 64_000
        let store = try Store.open(at: directory.store, options: options)
        let writer = try store.createRun()
        #expect(writer.shards.count == 8)
        let threads = 6
        let perThread = 2_500  // two blocks and a half: every shard keeps points staged
        let handles = try (0..<threads).map { try writer.series("t\($0)") }
        let shared = try writer.series("shared")
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                try? writer.log(handles[t], step: Int64(i), timestamp: 0, value: Double(t))
                try? writer.log(shared, step: Int64(t * perThread + i), timestamp: 0, value: Double(t))
            }
        }
        #expect(try writer.scan("shared").map(\.step) == Array(0..<Int64(threads * perThread)))
        try writer.flush()
        let reader = try store.openReader(writer.runID)
        for t in 0..<threads { #expect(try reader.scan("t\(t)").count == perThread) }
        #expect(try reader.scan("shared").map(\.step) == Array(0..<Int64(threads * perThread)))
        try writer.close()
        #expect(throws: StoreError.self) { try writer.log(shared, step: 0, timestamp: 0, value: 0) }
    }

    @Test func aSecondWriterIsRefusedInTheSameProcess() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions())
        let writer = try store.createRun()
        let refusal = #expect(throws: StoreError.self) { try store.openWriter(writer.runID) }
        #expect(refusal?.code == .locked)
        #expect(refusal?.message.contains(writer.runID.description) == true)
        #expect(refusal?.message.contains("process \(getpid())") == true)
        try writer.close()
        // Closing releases the lock.
        try store.openWriter(writer.runID).close()
    }

    @Test func aSecondWriterProcessIsRefusedWithTheHoldersPid() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions())
        let run = RunID.random()
        let child = try ChildProcess(builtProduct("RunlogTestWriter"), [directory.store, run.description, "hold"])
        let ready = try #require(child.readLine())
        #expect(ready == "ready \(child.pid)")
        let refusal = #expect(throws: StoreError.self) { try store.openWriter(run) }
        #expect(refusal?.code == .locked)
        #expect(refusal?.message.contains("run \(run) is being written by process \(child.pid)") == true)
        // A reader may open the run all the same.
        #expect(throws: Never.self) { try store.openReader(run) }
        child.kill()
        child.wait()
        // The lock dies with its holder.
        try store.openWriter(run).close()
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func aKilledWriterLosesOnlyUnflushedPointsAndTheNextWriterRecovers(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions())
        let run = RunID.random()
        var random = SeededRandom(seed: seed)
        var acknowledged: Int64 = 0
        for round in 0..<3 {
            let child = try ChildProcess(
                builtProduct("RunlogTestWriter"), [directory.store, run.description, "crash", "700"])
            let flushesBeforeKill = 1 + Int(random.next() % 20)
            for _ in 0..<flushesBeforeKill {
                guard let line = child.readLine(), let count = Int64(line.split(separator: " ").last ?? "") else {
                    break
                }
                acknowledged = max(acknowledged, count)
            }
            // A reader in this process sees, while the other process writes, all it acknowledged.
            let live = try store.openReader(run).scan("loss")
            #expect(live.count >= acknowledged)
            #expect(live.map(\.step) == Array(0..<Int64(live.count)))
            usleep(UInt32(random.next() % 3000))
            child.kill()
            child.wait()
            let writer = try store.openWriter(run)
            let points = try writer.scan("loss")
            let note: Comment = "seed \(seed), round \(round)"
            // Every acknowledged point, once; only a suffix may be missing; nothing never logged.
            #expect(points.count >= acknowledged, note)
            #expect(points.map(\.step) == Array(0..<Int64(points.count)), note)
            #expect(
                points.allSatisfy { $0.value == Double($0.step) * 0.5 && $0.timestamp == 1_700_000_000_000 + $0.step },
                note)
            #expect(writer.recovery.problems.isEmpty, note)
            try writer.close()
            #expect(try store.verify(run).isClean, note)
            acknowledged = Int64(points.count)
        }
    }
}
