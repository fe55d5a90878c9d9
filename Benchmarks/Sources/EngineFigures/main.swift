// Prints the engine's headline figures, each measured here and now:
//   bytes per point of realistic and worst-case series (per value codec),
//   log throughput from one thread with sealing in the background,
//   full-scan speed of a 1M-point series.
//   and the physical limits behind them: memory copy bandwidth; with --dump-raw PATH, the
//   uncompressed column data of the loss curve is written to PATH for `lz4 -b1 PATH`.
// Usage: swift run -c release engine-figures [--points N] [--dump-raw PATH]
import Foundation
import RunlogStore
import RunlogWorkloads

let arguments = CommandLine.arguments
let points = arguments.firstIndex(of: "--points").flatMap { Int(arguments[$0 + 1]) } ?? 1_000_000

func temporaryStore() -> String {
    let path = NSTemporaryDirectory() + "runlog-figures-\(UUID().uuidString)"
    return path
}

func options(compression: Bool = true) -> StoreOptions {
    var options = StoreOptions()
    options.durability = .never
    options.compression = compression
    return options
}

func bytesOnDisk(_ store: String) throws -> Int {
    let fm = FileManager.default
    var total = 0
    for case let path as String in fm.enumerator(atPath: store + "/runs")! where path.hasSuffix(".segment") {
        total += (try fm.attributesOfItem(atPath: store + "/runs/" + path)[.size] as! NSNumber).intValue
    }
    return total
}

/// Logs `series` into a fresh run; returns bytes per point on disk.
func bytesPerPoint(_ series: [WorkloadPoint], _ options: StoreOptions) throws -> Double {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try Store.open(at: path, options: options)
    let writer = try store.createRun()
    let handle = try writer.series("metric")
    for p in series { try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value) }
    try writer.close()
    return Double(try bytesOnDisk(path)) / Double(series.count)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func fmt(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

print(
    "Runlog engine figures — \(points) points per series, release build, \(ProcessInfo.processInfo.activeProcessorCount) cores"
)
print("")
print("bytes per point on disk (segment files, all headers included)")
print("series                       LZ4       uncompressed")
let workloads: [(String, [WorkloadPoint])] =
    TrainingCurves.Kind.allCases.map { ("\($0.rawValue) (float32)", TrainingCurves.series($0, count: points, seed: 1)) }
    + [("random doubles (float64)", TrainingCurves.randomDoubles(count: points, seed: 2))]
for (name, series) in workloads {
    let compressed = try bytesPerPoint(series, options())
    let raw = try bytesPerPoint(series, options(compression: false))
    print(
        name.padding(toLength: 29, withPad: " ", startingAt: 0)
            + fmt(compressed).padding(toLength: 10, withPad: " ", startingAt: 0) + fmt(raw))
}

print("")
print("log() from one thread, durability .never, sealing on the background thread")
let loss = TrainingCurves.series(.loss, count: points, seed: 1)
let logCount = max(points * 10, 10_000_000)
var rates: [(caller: Double, total: Double)] = []
for _ in 0..<3 {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try Store.open(at: path, options: options())
    let writer = try store.createRun()
    let handle = try writer.series("loss")
    var callerTime = 0.0
    let total = try seconds {
        callerTime = try seconds {
            var i = 0
            let n = loss.count
            for k in 0..<logCount {
                let p = loss[i]
                try writer.log(handle, step: Int64(k), timestamp: p.timestamp, value: p.value)
                i += 1
                if i == n { i = 0 }
            }
        }
        try writer.flush()
    }
    try writer.close()
    rates.append((Double(logCount) / callerTime, Double(logCount) / total))
}
print(
    "  \(logCount) points: \(fmt(median(rates.map(\.caller)) / 1e6)) M points/s in log() calls, "
        + "\(fmt(median(rates.map(\.total)) / 1e6)) M points/s until flush() returned (median of 3)")

var keyedRates: [Double] = []
for _ in 0..<3 {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let writer = try Store.open(at: path, options: options()).createRun()
    let keys = ["loss", "accuracy", "learning_rate", "grad_norm"]
    let time = try seconds {
        for k in 0..<logCount / 4 {
            let p = loss[k % loss.count]
            for key in keys { try writer.log(key, step: Int64(k), timestamp: p.timestamp, value: p.value) }
        }
        try writer.flush()
    }
    try writer.close()
    keyedRates.append(Double(logCount) / time)
}
print(
    "  by key (4 series, a dictionary lookup a point): \(fmt(median(keyedRates) / 1e6)) M points/s until flush() returned"
)

print("")
print("full scan of one \(points)-point series (reader in the same process, page cache warm)")
for (name, series) in [
    ("loss (float32)", loss), ("random doubles", TrainingCurves.randomDoubles(count: points, seed: 2)),
] {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try Store.open(at: path, options: options())
    let writer = try store.createRun()
    let handle = try writer.series("metric")
    for p in series { try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value) }
    try writer.close()
    let reader = try store.openReader(writer.runID)
    var times: [Double] = []
    var count = 0
    for _ in 0..<15 { times.append(try seconds { count = try reader.scan("metric").count }) }
    precondition(count == series.count)
    var chunkTimes: [Double] = []
    var checksum = 0.0
    for _ in 0..<15 {
        chunkTimes.append(
            try seconds {
                try reader.scan("metric") { chunk in
                    for p in chunk { checksum += p.value }
                }
            })
    }
    precondition(checksum != 0)
    let oneRange = ScanRange(steps: Int64(points / 2)...Int64(points / 2 + points / 100))
    var rangeTimes: [Double] = []
    for _ in 0..<15 { rangeTimes.append(try seconds { _ = try reader.scan("metric", range: oneRange) }) }
    print(
        "  \(name): into an array \(fmt(Double(count) / median(times) / 1e6, 1)) M points/s (median \(fmt(median(times) * 1e3)) ms), "
            + "chunked (summing values) \(fmt(Double(count) / median(chunkTimes) / 1e6, 1)) M points/s; "
            + "1% step range: \(fmt(median(rangeTimes) * 1e6, 0)) µs")
}

print("")
print("physical limits on this machine")
print("  memcpy of 256 MiB: \(fmt(MemoryBandwidth.memcpyBytesPerSecond() / 1e9)) GB/s (median of 7)")
if let index = arguments.firstIndex(of: "--dump-raw"), index + 1 < arguments.count {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try Store.open(at: path, options: options(compression: false))
    let writer = try store.createRun()
    let handle = try writer.series("loss")
    for p in loss { try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value) }
    try writer.close()
    let run = path + "/runs/\(writer.runID)"
    let segment = try FileManager.default.contentsOfDirectory(atPath: run).first { $0.hasSuffix(".segment") }!
    try FileManager.default.copyItem(atPath: run + "/" + segment, toPath: arguments[index + 1])
    print("  uncompressed loss columns written to \(arguments[index + 1]) for `lz4 -b1`")
}
