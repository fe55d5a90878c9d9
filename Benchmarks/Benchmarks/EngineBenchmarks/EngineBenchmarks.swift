import Benchmark
import Foundation
import RunlogStore
import RunlogWorkloads

/// A store in a fresh temporary directory, removed by `remove()`.
struct ScratchStore {
    let path = NSTemporaryDirectory() + "runlog-bench-\(UUID().uuidString)"
    func open() throws -> Store {
        var options = StoreOptions()
        options.durability = .never
        return try Store.open(at: path, options: options)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

let benchmarks: @Sendable () -> Void = {
    let loss = TrainingCurves.series(.loss, count: 1_000_000, seed: 1)

    Benchmark(
        "log, one thread (1M points, sealing in background)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .mega, maxIterations: 20)
    ) { benchmark in
        let scratch = ScratchStore()
        defer { scratch.remove() }
        let writer = try scratch.open().createRun()
        let series = try writer.series("loss")
        benchmark.startMeasurement()
        for p in loss { try writer.log(series, step: p.step, timestamp: p.timestamp, value: p.value) }
        try writer.flush()
        benchmark.stopMeasurement()
        try writer.close()
    }

    // One store shared by the read benchmarks.
    let scratch = ScratchStore()
    let reader: RunReader = {
        do {
            let store = try scratch.open()
            let writer = try store.createRun()
            let series = try writer.series("loss")
            for p in loss { try writer.log(series, step: p.step, timestamp: p.timestamp, value: p.value) }
            try writer.close()
            return try store.openReader(writer.runID)
        } catch {
            fatalError("preparing the read benchmarks: \(error)")
        }
    }()

    Benchmark(
        "full scan (1M points)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .mega, maxIterations: 50)
    ) { benchmark in
        benchmark.startMeasurement()
        blackHole(try reader.scan("loss"))
        benchmark.stopMeasurement()
    }

    Benchmark(
        "range scan, 1% of a 1M-point series",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 500)
    ) { benchmark in
        blackHole(try reader.scan("loss", range: ScanRange(steps: 500_000...510_000)))
    }
}
