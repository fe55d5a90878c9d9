// Measures the tracking API's queries at the sizes issue 3 names, release build:
//   search over 10,000 runs with 5 params and 10 metrics each,
//   downsampling a 1M-point series to 1,000 buckets,
//   compare of 100 runs × 1 key × 10,000 steps.
// Usage: swift run -c release tracking-figures [--runs N]
import Foundation
import Runlog
import RunlogWorkloads

let arguments = CommandLine.arguments
let runCount = arguments.firstIndex(of: "--runs").flatMap { Int(arguments[$0 + 1]) } ?? 10_000
let path = NSTemporaryDirectory() + "runlog-tracking-figures-\(UUID().uuidString)"
defer { try? FileManager.default.removeItem(atPath: path) }

var options = StoreOptions()
options.durability = .never

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ body: () throws -> Void, times: Int = 11) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<times { samples.append(try seconds(body)) }
    return samples.sorted()[times / 2]
}

func ms(_ value: Double) -> String { String(format: "%.2f ms", value * 1e3) }

let store = try TrackingStore.open(at: path, options: options)
let sweep = try store.experiment(named: "sweep")
var random = SeededRandom(seed: 7)
let optimizers = ["adam", "sgd", "adamw", "lion"]
print("Runlog tracking figures — release build, \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("")
let setup = try seconds {
    for i in 0..<runCount {
        let params = [
            "optimizer": optimizers[i % 4], "lr": String(format: "%.4f", 1e-4 * Double(1 + i % 50)),
            "batch_size": "\(32 << (i % 4))", "layers": "\(2 + i % 6)",
            "dropout": String(format: "%.2f", Double(i % 5) / 10),
        ]
        let run = try store.startRun(in: sweep, name: "run-\(i)", params: params, captureEnvironment: false)
        for metric in 0..<10 {
            let handle = try run.metric("metric_\(metric)")
            for step in 0..<20 { try run.log(handle, random.unit(), step: Int64(step), timestamp: Int64(step)) }
        }
        let loss = try run.metric("loss")
        try run.log(loss, random.unit(), step: 0, timestamp: 0)
        try run.finish()
    }
}
print("setup: \(runCount) runs × (5 params, 11 metrics × 20 points) written in \(String(format: "%.1f", setup)) s")

var reopened: TrackingStore!
let openTime = try seconds { reopened = try TrackingStore.open(at: path, options: options) }
print("open: reading the \(runCount) runs' logs into the catalog took \(ms(openTime))")

let filter = "metrics.loss < 0.5 and params.optimizer = 'adam' and attributes.status = 'FINISHED'"
var found = 0
let search = try median {
    found = try reopened.search(filter, orderBy: ["metrics.metric_3 DESC"], maxResults: 1000).runs.count
}
let searchAll = try median { _ = try reopened.search("params.lr LIKE '0.00%' or metrics.metric_1.max > 0.99") }
print(
    "search over \(runCount) runs: \(ms(search)) (\"\(filter)\", ordered by a metric, \(found) of the first page); "
        + "LIKE/OR/aggregate filter: \(ms(searchAll))   [target ≤ 50 ms]")

// One 1M-point series.
let long = try reopened.startRun(in: try reopened.experiment(named: "long"), name: "long", captureEnvironment: false)
let lossHandle = try long.metric("loss")
for p in TrainingCurves.series(.loss, count: 1_000_000, seed: 3) {
    try long.log(lossHandle, p.value, step: p.step, timestamp: p.timestamp)
}
try long.finish()
try reopened.refresh()
var bucketCount = 0
let downsample = try median { bucketCount = try reopened.downsample(long.id, "loss", buckets: 1000).count }
print("downsample 1,000,000 points to \(bucketCount) buckets: \(ms(downsample))   [target ≤ 5 ms]")

// 100 runs × 10,000 steps of one key.
let compareExperiment = try reopened.experiment(named: "compare")
var compared: [RunID] = []
for i in 0..<100 {
    let run = try reopened.startRun(
        in: compareExperiment, name: "c\(i)", params: ["seed": "\(i)"], captureEnvironment: false)
    let handle = try run.metric("loss")
    for p in TrainingCurves.series(.loss, count: 10_000, seed: UInt64(i)) {
        try run.log(handle, p.value, step: p.step, timestamp: p.timestamp)
    }
    try run.finish()
    compared.append(run.id)
}
try reopened.refresh()
var rows = 0
let compare = try median { rows = try reopened.compare(compared, histories: ["loss"]).histories[0].positions.count }
print("compare 100 runs × 1 key × 10,000 steps (\(rows) aligned rows): \(ms(compare))   [target ≤ 50 ms]")
