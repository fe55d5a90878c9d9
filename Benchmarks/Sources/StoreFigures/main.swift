// Issue 4's figures, release build:
//   bytes per point of realistic training curves before and after compaction, and its throughput;
//   log() latency (p50, p99, max) from one thread with background compaction idle and running;
//   opening a store of 10,000 runs and 100M points, and the index's memory.
// Usage: swift run -c release store-figures [--runs N] [--points-per-run N] [--skip-open] [--only-open]
import Foundation
import Runlog
import RunlogWorkloads

let arguments = CommandLine.arguments
func argument(_ name: String, _ fallback: Int) -> Int {
    arguments.firstIndex(of: name).flatMap { Int(arguments[$0 + 1]) } ?? fallback
}
let runCount = argument("--runs", 10_000)
let pointsPerRun = argument("--points-per-run", 10_000)

func temporaryStore() -> String { NSTemporaryDirectory() + "runlog-store-figures-\(UUID().uuidString)" }
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
func fmt(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
func options(compaction: Bool) -> StoreOptions {
    var options = StoreOptions()
    options.durability = .never
    options.backgroundCompaction = compaction
    return options
}
func segmentBytes(_ store: Store, _ run: RunID) throws -> Int64 {
    let directory = store.path + "/runs/\(run)"
    return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".segment") }
        .reduce(Int64(0)) {
            $0
                + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + $1)[.size] as? NSNumber)?
                    .int64Value ?? 0)
        }
}

print("Runlog store figures — release build, \(ProcessInfo.processInfo.activeProcessorCount) cores\n")

let onlyOpen = arguments.contains("--only-open")
// 1. Compaction on realistic curves logged the way training loops log: a flush every 100 steps.
if !onlyOpen {
    print("bytes per point before and after compaction (4 training curves × 1M points, a flush every 100 steps)")
    do {
        let path = temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store.open(at: path, options: options(compaction: false))
        let writer = try store.createRun()
        let curves = TrainingCurves.Kind.allCases.map {
            ($0.rawValue, TrainingCurves.series($0, count: 1_000_000, seed: 5))
        }
        let handles = try curves.map { try writer.series($0.0) }
        for i in 0..<1_000_000 {
            for (c, curve) in curves.enumerated() {
                try writer.log(
                    handles[c], step: curve.1[i].step, timestamp: curve.1[i].timestamp, value: curve.1[i].value)
            }
            if i % 100 == 99 { try writer.flush() }
        }
        try writer.close()
        let before = try segmentBytes(store, writer.runID)
        var report: CompactionReport!
        let time = try seconds { report = try store.compact(writer.runID) }
        let after = try segmentBytes(store, writer.runID)
        let points = Double(report.points)
        print(
            "  before: \(report.segmentsBefore) segments, \(report.blocksBefore) blocks, \(fmt(Double(before) / points)) bytes/point"
        )
        print(
            "  after:  \(report.segmentsAfter) segment, \(report.blocksAfter) blocks, \(fmt(Double(after) / points)) bytes/point"
        )
        print("  compaction: \(fmt(time, 3)) s, \(fmt(points / time / 1e6, 1)) M points/s\n")
    }
}

// 2. log() latency on the caller's thread, with background compaction idle and busy.
if !onlyOpen { print("log() latency from one thread (10M points into one run, sealing in the background)") }
func latencies(compactionBusy: Bool) throws -> [Double] {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    // Runs for the compactor to chew on while we log: written with tiny flushes and no background
    // compaction, then queued all at once (reopening and closing a writer queues its run).
    var queued: [RunID] = []
    if compactionBusy {
        let quiet = try Store.open(at: path, options: options(compaction: false))
        for _ in 0..<24 {
            let other = try quiet.createRun()
            let handle = try other.series("loss")
            for i in 0..<500_000 {
                try other.log(handle, step: Int64(i), timestamp: Int64(i), value: Double(Float(1 / Double(i + 1))))
                if i % 50 == 49 { try other.flush() }
            }
            try other.close()
            queued.append(other.runID)
        }
        quiet.close()
    }
    let store = try Store.open(at: path, options: options(compaction: true))
    for run in queued { try store.openWriter(run).close() }
    let writer = try store.createRun()
    let handle = try writer.series("loss")
    let doneBefore = store.backgroundCompactionReports.count
    let count = 10_000_000
    var samples = [Double](repeating: 0, count: count / 100)
    var clock = timespec()
    for i in 0..<count {
        if i % 100 == 0 {
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let start = Int64(clock.tv_sec) * 1_000_000_000 + Int64(clock.tv_nsec)
            try writer.log(handle, step: Int64(i), timestamp: Int64(i), value: Double(i))
            clock_gettime(CLOCK_MONOTONIC, &clock)
            samples[i / 100] = Double(Int64(clock.tv_sec) * 1_000_000_000 + Int64(clock.tv_nsec) - start)
        } else {
            try writer.log(handle, step: Int64(i), timestamp: Int64(i), value: Double(i))
        }
    }
    let doneAfter = store.backgroundCompactionReports.count
    try writer.close()
    store.close()
    if compactionBusy {
        print(
            "  (of \(queued.count) compactions queued, \(doneBefore) had finished when timing began, \(doneAfter) when it ended)"
        )
    }
    return samples.sorted()
}
for busy in [false, true] where !onlyOpen {
    let samples = try latencies(compactionBusy: busy)
    func pct(_ p: Double) -> String { "\(Int(samples[min(samples.count - 1, Int(Double(samples.count) * p))])) ns" }
    print(
        "  compaction \(busy ? "running" : "idle   "): p50 \(pct(0.5)), p99 \(pct(0.99)), p99.9 \(pct(0.999)), max \(Int(samples.last!)) ns  (every 100th call timed)"
    )
}
print("")

// 3. Opening a large store.
if !arguments.contains("--skip-open") {
    let path = temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let setup = try seconds {
        let store = try TrackingStore.open(at: path, options: options(compaction: false))
        let experiment = try store.experiment(named: "large")
        let curve = TrainingCurves.series(.loss, count: pointsPerRun, seed: 9)
        for i in 0..<runCount {
            let run = try store.startRun(
                in: experiment, name: "r\(i)", params: ["i": "\(i)"], captureEnvironment: false)
            let handle = try run.metric("loss")
            for p in curve { try run.log(handle, p.value, step: p.step, timestamp: p.timestamp) }
            try run.finish()
        }
    }
    print(
        "large store: \(runCount) runs × \(pointsPerRun) points = \(runCount * pointsPerRun) points, written in \(fmt(setup, 1)) s"
    )
    for attempt in 1...3 {
        for snapshots in [true, false] {
            var openOptions = options(compaction: false)
            openOptions.indexSnapshots = snapshots
            var store: TrackingStore!
            let time = try seconds { store = try TrackingStore.open(at: path, options: openOptions) }
            let runs = store.runs()
            let points = runs.reduce(0) { $0 + ($1.metrics["loss"]?.count ?? 0) }
            print(
                "  open #\(attempt), index snapshots \(snapshots ? "on " : "off"): \(fmt(time * 1e3)) ms for \(runs.count) runs, "
                    + "\(points) points; index memory ≈ \(store.indexMemoryEstimate / 1024) KiB")
        }
    }
}
