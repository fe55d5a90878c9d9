import Benchmark
import Foundation
import Runlog
import RunlogWorkloads

/// Stores the benchmarks share, built on first use (once per benchmark process).
enum Fixtures {
    static func options(compaction: Bool = false) -> StoreOptions {
        var options = StoreOptions()
        options.durability = .never
        options.backgroundCompaction = compaction
        return options
    }

    static func temporary() -> String { NSTemporaryDirectory() + "runlog-bench-\(UUID().uuidString)" }

    static let loss = TrainingCurves.series(.loss, count: 1_000_000, seed: 1)
    static let randomDoubles = TrainingCurves.randomDoubles(count: 1_000_000, seed: 2)

    /// One run holding the 1M-point loss curve, compacted.
    static let lossRun: (store: TrackingStore, run: RunID) = {
        do {
            let store = try TrackingStore.open(at: temporary(), options: options())
            let run = try store.startRun(in: try store.experiment(named: "scan"), captureEnvironment: false)
            let metric = try run.metric("loss")
            for p in loss { try run.log(metric, p.value, step: p.step, timestamp: p.timestamp) }
            try run.finish()
            try store.engine.compact(run.id)
            try store.refresh()
            return (store, run.id)
        } catch { fatalError("building the scan fixture: \(error)") }
    }()

    /// 10,000 finished runs with 5 params and 10 metrics each.
    static let sweep: TrackingStore = {
        do {
            let path = temporary()
            let store = try TrackingStore.open(at: path, options: options())
            let experiment = try store.experiment(named: "sweep")
            var random = SeededRandom(seed: 7)
            for i in 0..<10_000 {
                let params = [
                    "optimizer": ["adam", "sgd", "adamw", "lion"][i % 4], "lr": "\(1 + i % 50)e-4",
                    "batch_size": "\(32 << (i % 4))", "layers": "\(2 + i % 6)", "dropout": "0.\(i % 5)",
                ]
                let run = try store.startRun(in: experiment, params: params, captureEnvironment: false)
                for m in 0..<10 { try run.log("metric_\(m)", random.unit(), step: 0, timestamp: 0) }
                try run.finish()
            }
            return try TrackingStore.open(at: path, options: options())
        } catch { fatalError("building the sweep fixture: \(error)") }
    }()

    /// 100 runs with a 10,000-step loss each.
    static let compareRuns: (store: TrackingStore, runs: [RunID]) = {
        do {
            let store = try TrackingStore.open(at: temporary(), options: options())
            let experiment = try store.experiment(named: "compare")
            var ids: [RunID] = []
            for i in 0..<100 {
                let run = try store.startRun(in: experiment, captureEnvironment: false)
                let metric = try run.metric("loss")
                for p in TrainingCurves.series(.loss, count: 10_000, seed: UInt64(i)) {
                    try run.log(metric, p.value, step: p.step, timestamp: p.timestamp)
                }
                try run.finish()
                ids.append(run.id)
            }
            return (store, ids)
        } catch { fatalError("building the compare fixture: \(error)") }
    }()

    /// A store path holding 2,000 runs of 10,000 points (20M points) to open.
    static let largeStore: String = {
        do {
            let path = temporary()
            let store = try TrackingStore.open(at: path, options: options())
            let experiment = try store.experiment(named: "large")
            let curve = TrainingCurves.series(.loss, count: 10_000, seed: 9)
            for _ in 0..<2_000 {
                let run = try store.startRun(in: experiment, captureEnvironment: false)
                let metric = try run.metric("loss")
                for p in curve { try run.log(metric, p.value, step: p.step, timestamp: p.timestamp) }
                try run.finish()
            }
            return path
        } catch { fatalError("building the large store: \(error)") }
    }()
}

/// Bytes on disk per point, in thousandths (custom metrics are integers).
let bytesPerPoint = BenchmarkMetric.custom("bytes per 1,000 points", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)

    Benchmark(
        "log, one thread (1M points, sealing in background)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .mega, maxIterations: 20)
    ) { benchmark in
        let writer = try Store.open(at: Fixtures.temporary(), options: Fixtures.options()).createRun()
        let series = try writer.series("loss")
        benchmark.startMeasurement()
        for p in Fixtures.loss { try writer.log(series, step: p.step, timestamp: p.timestamp, value: p.value) }
        try writer.flush()
        benchmark.stopMeasurement()
        try writer.close()
    }

    Benchmark(
        "log, 8 threads into one run (8 × 250k points)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .mega, maxIterations: 10)
    ) { benchmark in
        let writer = try Store.open(at: Fixtures.temporary(), options: Fixtures.options()).createRun()
        let series = try (0..<8).map { try writer.series("t\($0)") }
        let loss = Fixtures.loss
        benchmark.startMeasurement()
        // Each thread reads the points through its own buffer pointer: indexing the shared
        // global array retained and released it on every point, from eight threads at once (the
        // harness's cost, not the writer's: 6.5M points/s before, most of it that).
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            let handle = series[t]
            loss.withUnsafeBufferPointer { points in
                for p in points[0..<250_000] {
                    try? writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value)
                }
            }
        }
        try writer.flush()
        benchmark.stopMeasurement()
        try writer.close()
    }

    // One log() call an iteration, while the sealer runs and a compactor rewrites another run.
    let latencyStore = try! Store.open(at: Fixtures.temporary(), options: Fixtures.options())
    let latencyWriter = try! latencyStore.createRun()
    let latencySeries = try! latencyWriter.series("loss")
    let busyRun: RunID = {
        let writer = try! latencyStore.createRun()
        for i in 0..<2_000_000 { try! writer.log("x", step: Int64(i), timestamp: 0, value: Double(Float(i))) }
        try! writer.close()
        return writer.runID
    }()
    Benchmark(
        "log latency, one call, compaction running",
        configuration: .init(metrics: [.wallClock], maxDuration: .seconds(2), maxIterations: 1_000_000),
        closure: { _ in try latencyWriter.log(latencySeries, step: 1, timestamp: 1, value: 1) },
        setup: {
            Thread.detachNewThread {
                for _ in 0..<40 { _ = try? latencyStore.compact(busyRun) }
            }
        }
    )

    for (name, series) in [("float32 loss", Fixtures.loss), ("random doubles", Fixtures.randomDoubles)] {
        Benchmark("bytes per point, \(name)", configuration: .init(metrics: [bytesPerPoint], maxIterations: 1)) { benchmark in
            let path = Fixtures.temporary()
            let store = try Store.open(at: path, options: Fixtures.options())
            let writer = try store.createRun()
            let handle = try writer.series("m")
            for p in series { try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value) }
            try writer.close()
            try store.compact(writer.runID)
            let bytes = try store.diskUsage(writer.runID)
            benchmark.measurement(bytesPerPoint, Int(bytes * 1000 / Int64(series.count)))
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    Benchmark(
        "full scan (1M points)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .mega, maxIterations: 50)
    ) { _ in
        blackHole(try Fixtures.lossRun.store.history(of: Fixtures.lossRun.run, "loss"))
    }

    Benchmark(
        "range scan, 1% of a 1M-point series",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 500)
    ) { _ in
        blackHole(try Fixtures.lossRun.store.history(of: Fixtures.lossRun.run, "loss", range: ScanRange(steps: 500_000...510_000)))
    }

    Benchmark("downsample 1M points to 1,000 buckets", configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 200)) { _ in
        blackHole(try Fixtures.lossRun.store.downsample(Fixtures.lossRun.run, "loss", buckets: 1000))
    }

    Benchmark("search over 10,000 runs", configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 100)) { _ in
        blackHole(try Fixtures.sweep.search("metrics.metric_0 < 0.5 and params.optimizer = 'adam'", orderBy: ["metrics.metric_1 DESC"]))
    }

    Benchmark("compare 100 runs × 10,000 steps", configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 100)) { _ in
        blackHole(try Fixtures.compareRuns.store.compare(Fixtures.compareRuns.runs, histories: ["loss"]))
    }

    Benchmark("open a store of 2,000 runs, 20M points", configuration: .init(metrics: [.wallClock], maxIterations: 20)) { _ in
        blackHole(try TrackingStore.open(at: Fixtures.largeStore, options: Fixtures.options()))
    }

    Benchmark(
        "compaction of 4M points (small blocks)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .mega, maxIterations: 10)
    ) { benchmark in
        let store = try Store.open(at: Fixtures.temporary(), options: Fixtures.options())
        let writer = try store.createRun()
        for kind in TrainingCurves.Kind.allCases {
            let handle = try writer.series(kind.rawValue)
            for (i, p) in Fixtures.loss.enumerated() {
                try writer.log(handle, step: p.step, timestamp: p.timestamp, value: p.value)
                if i % 1000 == 999 { try writer.flush() }
            }
        }
        try writer.close()
        benchmark.startMeasurement()
        try store.compact(writer.runID)
        benchmark.stopMeasurement()
    }
}
