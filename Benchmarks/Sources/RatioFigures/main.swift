// The engine's figures as ratios measured in one run, beside the peer that bounds each (LZ4 on the
// same raw points, memcpy, SQLite through its C API in this process), so a day when the machine
// is slower changes both sides alike:
//   sustained log vs burst, CPU per point, log vs LZ4 of the raw points;
//   threads into one run and into one run each, vs one thread;
//   bytes per point flushed every 100 steps vs once;
//   list and open at 1,000 and 10,000 runs; search vs SQLite; full scan vs memcpy; memory per key.
// Usage: swift run -c release ratio-figures [--quick] [--only NAME[,NAME]]
//   names: log, threads, flush, list, search, scan, keys
import CLZ4Peer
import CSQLitePeer
import Foundation
import Runlog
import RunlogWorkloads

let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")
let only = arguments.firstIndex(of: "--only").map { Set(arguments[$0 + 1].split(separator: ",").map(String.init)) }
func wanted(_ name: String) -> Bool { only?.contains(name) ?? true }

func temporaryStore() -> String { NSTemporaryDirectory() + "runlog-ratio-figures-\(UUID().uuidString)" }
func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = now()
    try body()
    return now() - start
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func median(times: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<times { samples.append(try seconds(body)) }
    return median(samples)
}
/// User + system CPU seconds of this process (every thread: the caller and the sealer).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
/// Resident bytes of this process now.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
func fmt(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
func millions(_ rate: Double) -> String { fmt(rate / 1e6, 2) + "M" }
func ms(_ value: Double) -> String { fmt(value * 1e3, 2) + " ms" }
func row(_ figure: String, _ measured: String, _ ratio: String, _ target: String) {
    print("| \(figure) | \(measured) | \(ratio) | \(target) |")
}
func storeOptions() -> StoreOptions {
    var options = StoreOptions()
    options.durability = .never
    options.backgroundCompaction = false
    return options
}
func segmentBytes(_ directory: String) -> Int {
    var total = 0
    if let walk = FileManager.default.enumerator(atPath: directory) {
        for case let path as String in walk where path.hasSuffix(".segment") {
            total +=
                ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + path)[.size]) as? NSNumber)?
                .intValue ?? 0
        }
    }
    return total
}

/// Logs `count` points of the loss curve into one series, tight loop; returns (points/s from the
/// first log to the end of close, CPU seconds a point).
func logRate(_ count: Int) throws -> (rate: Double, cpu: Double) {
    let loss = TrainingCurves.series(.loss, count: 1 << 20, seed: 1)
    let path = temporaryStore()
    defer { remove(path) }
    let store = try Store.open(at: path, options: storeOptions())
    let writer = try store.createRun()
    let handle = try writer.series("loss")
    let cpu0 = cpuSeconds()
    let time = try seconds {
        let mask = loss.count - 1
        for k in 0..<count {
            let p = loss[k & mask]
            try writer.log(handle, step: Int64(k), timestamp: p.timestamp, value: p.value)
        }
        try writer.close()
    }
    return (Double(count) / time, (cpuSeconds() - cpu0) / Double(count))
}

let memcpyRate = MemoryBandwidth.memcpyBytesPerSecond()

print("Runlog ratio figures — release build, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Date())")
print("memcpy of 256 MiB on this machine today: \(fmt(memcpyRate / 1e9)) GB/s")
print("")
print("| figure (same run) | measured | ratio | target |")
print("|---|---:|---:|---:|")

if wanted("log") {
    let big = quick ? 5_000_000 : 50_000_000
    let burst = try logRate(1_000_000)
    let sustained = try logRate(big)
    row(
        "`log` by handle, 1M vs \(big / 1_000_000)M points (to the end of close)",
        "\(millions(burst.rate)) vs \(millions(sustained.rate)) points/s", fmt(sustained.rate / burst.rate), "keep ≈ 1")
    row(
        "CPU per point, caller + sealer (\(big / 1_000_000)M points)", fmt(sustained.cpu * 1e9, 1) + " ns", "—",
        "≤ ⅓ of before")
    // LZ4 of the same raw 24-byte points, one core, in blocks of the store's size.
    let points = TrainingCurves.series(.loss, count: 1 << 20, seed: 1).enumerated().map {
        MetricPoint(step: Int64($0.offset), timestamp: $0.element.timestamp, value: $0.element.value)
    }
    let blockBytes = StoreOptions().blockPoints * MemoryLayout<MetricPoint>.stride
    let bound = Int(LZ4_compressBound(Int32(blockBytes)))
    var output = [CChar](repeating: 0, count: bound)
    let total = quick ? 5_000_000 : 20_000_000
    var compressedBytes = 0
    let lz4Time = points.withUnsafeBytes { raw in
        output.withUnsafeMutableBufferPointer { out in
            seconds {
                var done = 0
                while done < total {
                    var offset = 0
                    while offset < raw.count && done < total {
                        let length = min(blockBytes, raw.count - offset)
                        compressedBytes += Int(
                            LZ4_compress_default(
                                raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                                out.baseAddress!, Int32(length), Int32(bound)))
                        offset += length
                        done += length / MemoryLayout<MetricPoint>.stride
                    }
                }
            }
        }
    }
    precondition(compressedBytes > 0)
    let lz4Rate = Double(total) / lz4Time
    let sustained20 = quick ? sustained : try logRate(total)
    row(
        "sustained `log` (\(total / 1_000_000)M points, close included) vs LZ4 of the raw 24-byte points, one core",
        "\(millions(sustained20.rate)) vs \(millions(lz4Rate)) points/s", fmt(sustained20.rate / lz4Rate), "≥ 1.0")
}

/// `threads` threads log `perThread` points each, into one run (a series each) or one run each.
func threadRate(threads: Int, perThread: Int, runs: Bool) throws -> Double {
    let path = temporaryStore()
    defer { remove(path) }
    let store = try Store.open(at: path, options: storeOptions())
    let writers = try (0..<(runs ? threads : 1)).map { _ in try store.createRun() }
    let handles = try (0..<threads).map { try writers[runs ? $0 : 0].series("metric_\($0)") }
    let time = try seconds {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let writer = writers[runs ? t : 0]
            do {
                for k in 0..<perThread {
                    try writer.log(handles[t], step: Int64(k), timestamp: Int64(k), value: Double(k & 1023) * 0.001)
                }
            } catch {
                fatalError("thread \(t): \(error)")
            }
        }
        for writer in writers { try writer.close() }
    }
    return Double(threads * perThread) / time
}

if wanted("threads") {
    let total = quick ? 4_000_000 : 16_000_000
    let one = try threadRate(threads: 1, perThread: total, runs: false)
    let eight = try threadRate(threads: 8, perThread: total / 8, runs: false)
    let four = try threadRate(threads: 4, perThread: total / 4, runs: true)
    row(
        "8 threads into one run vs 1 thread (\(total / 1_000_000)M points)",
        "\(millions(eight)) vs \(millions(one)) points/s", fmt(eight / one) + "×", "≥ 1.5×")
    row(
        "4 threads into 4 runs vs 1 thread", "\(millions(four)) vs \(millions(one)) points/s", fmt(four / one) + "×",
        "≥ 1.8×")
}

if wanted("flush") {
    let steps = quick ? 100_000 : 1_000_000
    let curves = TrainingCurves.Kind.allCases.map { TrainingCurves.series($0, count: steps, seed: 5) }
    /// Bytes a point of the run, while it is still being written, at its end and the most at any
    /// tenth of the way (each after the live compactions queued by then finished).
    func bytesPerPoint(flushEvery: Int?, live: Bool) throws -> (end: Double, peak: Double, cpu: Double) {
        let path = temporaryStore()
        defer { remove(path) }
        var options = storeOptions()
        options.backgroundCompaction = live
        let store = try Store.open(at: path, options: options)
        let writer = try store.createRun()
        let handles = try curves.indices.map { try writer.series("curve_\($0)") }
        var peak = 0.0
        let start = cpuSeconds()
        for i in 0..<steps {
            for (c, curve) in curves.enumerated() {
                try writer.log(handles[c], step: curve[i].step, timestamp: curve[i].timestamp, value: curve[i].value)
            }
            if let flushEvery, i % flushEvery == flushEvery - 1 {
                try writer.flush()
                if (i + 1) % (steps / 10) == 0 {
                    // Once the live compactions queued by now are done: the policy's bound, without
                    // the moment between a compaction's rename and its deletions.
                    store.waitForBackgroundCompaction()
                    peak = max(peak, Double(segmentBytes(path)) / Double((i + 1) * curves.count))
                }
            }
        }
        try writer.flush()
        store.waitForBackgroundCompaction()
        let cpu = cpuSeconds() - start
        let bytes = segmentBytes(path)  // before close: the run is still being written
        try writer.close()
        store.close()
        let end = Double(bytes) / Double(steps * curves.count)
        return (end, max(peak, end), cpu)
    }
    let once = try bytesPerPoint(flushEvery: nil, live: false)
    let often = try bytesPerPoint(flushEvery: 100, live: true)
    let unmerged = try bytesPerPoint(flushEvery: 100, live: false)
    row(
        "bytes/point, 4 curves flushed every 100 steps vs once, while written (\(steps / 1000)k steps)",
        "\(fmt(often.end)) vs \(fmt(once.end)); the most at a tenth of the way \(fmt(often.peak))",
        "\(fmt(often.end / once.end))× (most \(fmt(often.peak / once.end))×)", "≤ 1.2×")
    row(
        "the same without live compaction", "\(fmt(unmerged.end)) vs \(fmt(once.end))",
        fmt(unmerged.end / once.end) + "×", "—")
    row(
        "CPU to log it (every thread: caller, sealer, compaction), flushed every 100 steps, with vs without live compaction",
        "\(fmt(often.cpu, 3)) s vs \(fmt(unmerged.cpu, 3)) s", fmt(often.cpu / unmerged.cpu) + "×", "—")
}

/// A tracking store of `count` runs (5 params, `metrics` metrics × `points` points each).
func makeTrackingStore(_ path: String, runs count: Int, metrics: Int, points: Int) throws {
    let store = try TrackingStore.open(at: path, options: storeOptions())
    let experiment = try store.experiment(named: "sweep")
    var random = SeededRandom(seed: 7)
    for i in 0..<count {
        let params = [
            "optimizer": ["adam", "sgd", "adamw", "lion"][i % 4],
            "lr": ["0.01", "0.001", "0.1", "0.0003"][i % 4 / 2 + i % 2],
            "batch_size": "\(32 << (i % 4))", "layers": "\(2 + i % 6)", "seed": "\(i)",
        ]
        let run = try store.startRun(in: experiment, name: "run-\(i)", params: params, captureEnvironment: false)
        for metric in 0..<metrics {
            let handle = try run.metric(metric == 0 ? "loss" : "metric_\(metric)")
            for step in 0..<points { try run.log(handle, random.unit(), step: Int64(step), timestamp: Int64(step)) }
        }
        try run.finish()
    }
}

var stores: [Int: String] = [:]
defer { for path in stores.values { remove(path) } }
if wanted("list") || wanted("search") {
    let sizes = [1_000, 10_000]
    for size in sizes {
        let path = temporaryStore()
        try makeTrackingStore(path, runs: size, metrics: 10, points: quick ? 100 : 1_000)
        stores[size] = path
    }
}

if wanted("list") {
    var open: [Int: Double] = [:]
    var list: [Int: Double] = [:]
    var again: [Int: Double] = [:]
    var snapshotRead: [Int: Double] = [:]
    for (size, path) in stores {
        open[size] = try median(times: 5) { _ = try TrackingStore.open(at: path, options: storeOptions()) }
        // The first listing after opening builds it (later ones, until a change, reuse it).
        var firsts: [Double] = []
        for _ in 0..<5 {
            let store = try TrackingStore.open(at: path, options: storeOptions())
            firsts.append(seconds { precondition(store.runs().count == size) })
        }
        list[size] = median(firsts)
        let store = try TrackingStore.open(at: path, options: storeOptions())
        _ = store.runs()
        again[size] = median(times: 11) { precondition(store.runs().count == size) }
        // The floor for open: reading every run's index snapshot from the page cache.
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix("/INDEX") }
        snapshotRead[size] = median(times: 5) {
            for file in files { _ = FileManager.default.contents(atPath: path + "/" + file) }
        }
        if files.isEmpty { snapshotRead[size] = nil }
    }
    row(
        "list (`runs()`, the first after open, which built it) 10,000 vs 1,000 runs",
        "\(fmt(list[10_000]! * 1e6, 1)) vs \(fmt(list[1_000]! * 1e6, 1)) µs",
        fmt(list[10_000]! / list[1_000]!) + "×", "≤ 11×")
    row(
        "list again, nothing changed, 10,000 vs 1,000 runs",
        "\(fmt(again[10_000]! * 1e6, 1)) vs \(fmt(again[1_000]! * 1e6, 1)) µs", "—", "—")
    row(
        "open 10,000 vs 1,000 runs (10 metrics × \(quick ? 100 : 1_000) points)",
        "\(ms(open[10_000]!)) vs \(ms(open[1_000]!))", fmt(open[10_000]! / open[1_000]!) + "×", "≤ 11×")
    if let floor = snapshotRead[10_000] {
        row(
            "open 10,000 runs vs reading their index snapshots", "\(ms(open[10_000]!)) vs \(ms(floor))",
            fmt(open[10_000]! / floor) + "×", "—")
    }
}

if wanted("search") {
    let path = stores[10_000]!
    let store = try TrackingStore.open(at: path, options: storeOptions())
    let filter = "metrics.loss < 0.5 and params.lr = '0.01'"
    var found = 0
    // The first search after opening lists the runs and reads its two columns out of them.
    var firsts: [Double] = []
    for _ in 0..<5 {
        let fresh = try TrackingStore.open(at: path, options: storeOptions())
        firsts.append(try seconds { _ = try fresh.search(filter, maxResults: 1000) })
    }
    let first = median(firsts)
    let runlog = try median(times: 21) { found = try store.search(filter, maxResults: 1000).runs.count }
    // SQLite, in this process: runs, params and latest metrics, with indexes, as MLflow keeps them.
    let peer = SQLitePeer(store.runs())
    var sqliteFound = 0
    let sqlite = median(times: 21) { sqliteFound = peer.lossBelowHalfWithLearningRate("0.01") }
    precondition(found == sqliteFound, "Runlog found \(found) runs, SQLite \(sqliteFound)")
    row(
        "search `\(filter)` over 10,000 runs (\(found) found) vs SQLite with indexes",
        "\(ms(runlog)) vs \(ms(sqlite))", fmt(sqlite / runlog) + "× faster", "≥ 5× faster")
    row(
        "the first search after open (reads its columns out of the listing) vs SQLite", "\(ms(first)) vs \(ms(sqlite))",
        fmt(sqlite / first) + "× faster", "—")
    // What a server sees: a run logs (a REST request), then a search. The change is merged into
    // the kept listing and its columns.
    var afterChange: [Double] = []
    for (i, run) in store.runs().prefix(11).enumerated() {
        let writer = try store.resumeRun(run.id)
        try writer.log("loss", 0.25, step: 1_000_000 + Int64(i))
        try writer.flush()
        afterChange.append(try seconds { _ = try store.search(filter, maxResults: 1000) })
        try writer.close()
    }
    row(
        "a search right after one run logged, 10,000 runs, vs SQLite", "\(ms(median(afterChange))) vs \(ms(sqlite))",
        fmt(sqlite / median(afterChange)) + "× faster", "—")
}

if wanted("scan") {
    let path = temporaryStore()
    defer { remove(path) }
    let store = try Store.open(at: path, options: storeOptions())
    let writer = try store.createRun()
    let handle = try writer.series("loss")
    let count = 1_000_000
    for p in TrainingCurves.series(.loss, count: count, seed: 1) {
        try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value)
    }
    try writer.close()
    let reader = try store.openReader(writer.runID)
    var checksum = 0.0
    let time = try median(times: 15) {
        try reader.scan("loss") { chunk in checksum += chunk[chunk.count - 1].value }
    }
    precondition(checksum != 0)
    let rate = Double(count * MemoryLayout<MetricPoint>.stride) / time
    row(
        "full scan of a 1M-point curve, decoded bytes/s vs memcpy",
        "\(fmt(rate / 1e9)) vs \(fmt(memcpyRate / 1e9)) GB/s", fmt(rate / memcpyRate), "≥ 0.5")
}

if wanted("keys") {
    let keys = quick ? 100_000 : 1_000_000
    let path = temporaryStore()
    defer { remove(path) }
    let store = try Store.open(at: path, options: storeOptions())
    let before = residentBytes()
    let writer = try store.createRun()
    for k in 0..<keys {
        let handle = try writer.series("layer_\(k)/grad_norm")
        try writer.log(handle, step: 0, timestamp: 0, value: Double(k))
        if k % 10_000 == 9_999 { try writer.flush() }
    }
    try writer.flush()
    let after = residentBytes()
    try writer.close()
    row(
        "memory per distinct key, writer + index (\(keys) keys of 20 bytes, 1 point each, flushed)",
        "\(fmt(Double(after - before) / Double(keys), 0)) B (\(after / (1 << 20)) MiB resident)", "—", "≤ 300 B")
}
