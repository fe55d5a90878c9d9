import ArgumentParser
import Foundation
import Runlog
import RunlogWorkloads

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small model under 4 hyperparameter settings, then list and compare the runs.",
        discussion: """
            Trains logistic regression by mini-batch SGD on seeded synthetic data (two overlapping \
            Gaussian classes in 16 dimensions, 4,000 training and 1,000 validation samples), once per \
            setting of learning rate, L2 penalty and batch size, into experiment "demo". Each run logs \
            train/loss and train/accuracy at every step, val/loss and val/accuracy every 100 steps, \
            and its params; then the runs table and a chart of val/loss are printed.
            """)
    @OptionGroup var store: StoreOptionsGroup
    @Option(help: "Training steps per run.") var steps: Int = 3000
    @Option(help: "Seed of the data and of the batches.") var seed: UInt64 = 42
    @Flag(
        help: """
            Train one setting (--learning-rate, --l2, --batch-size) instead of four: into the run \
            `runlog run` started for this process (RUNLOG_STORE, RUNLOG_RUN_ID), else into a new run \
            of experiment "demo". The example of a Swift program under `runlog run`.
            """)
    var one = false
    @Option(help: "With --one: the learning rate.") var learningRate: Double = 0.05
    @Option(help: "With --one: the L2 penalty.") var l2: Double = 0
    @Option(help: "With --one: the batch size.") var batchSize: Int = 32

    func validate() throws {
        guard steps >= 100 else { throw ValidationError("--steps must be at least 100") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard learningRate > 0, learningRate.isFinite, l2 >= 0, l2.isFinite else {
            throw ValidationError("--learning-rate must be above 0 and --l2 at least 0")
        }
    }

    func params(_ setting: (lr: Double, l2: Double, batch: Int)) -> [String: String] {
        [
            "learning_rate": "\(setting.lr)", "l2": "\(setting.l2)", "batch_size": "\(setting.batch)",
            "model": "logistic_regression", "seed": "\(seed)",
        ]
    }

    /// Trains one setting into `run`: train/ metrics every step, val/ ones every 100.
    func train(
        _ run: ActiveRun, setting: (lr: Double, l2: Double, batch: Int), data: Dataset, seed: UInt64,
        advance: () -> Void
    ) throws {
        var model = LogisticRegression(features: Dataset.features)
        var random = SeededRandom(seed: seed)
        let trainLoss = try run.metric("train/loss")
        let trainAccuracy = try run.metric("train/accuracy")
        for step in 0..<steps {
            let batch = (0..<setting.batch).map { _ in Int(random.next() % UInt64(data.train.count)) }
            let (loss, accuracy) = model.step(
                batch.map { data.train[$0] }, learningRate: setting.lr, l2: setting.l2)
            try run.log(trainLoss, loss, step: Int64(step))
            try run.log(trainAccuracy, accuracy, step: Int64(step))
            if step % 100 == 0 || step == steps - 1 {
                let (valLoss, valAccuracy) = model.evaluate(data.validation)
                try run.log(["val/loss": valLoss, "val/accuracy": valAccuracy], step: Int64(step))
            }
            advance()
        }
    }

    /// `--one`: one setting, into the attached run when there is one.
    func trainOne() throws {
        let setting = (lr: learningRate, l2: l2, batch: batchSize)
        let data = Dataset(seed: seed)
        if let (store, run) = try TrackingStore.attachedRun() {
            try run.logParams(params(setting))
            try train(run, setting: setting, data: data, seed: seed) {}
            try run.close()  // the status is `runlog run`'s to record, from the exit status
            print("trained \(steps) steps into run \(run.id) of \(store.path)")
        } else {
            let store = try self.store.open(create: true)
            let run = try store.startRun(
                in: try store.experiment(named: "demo"),
                name: "lr=\(setting.lr) l2=\(setting.l2) batch=\(setting.batch)", params: params(setting))
            try train(run, setting: setting, data: data, seed: seed) {}
            try run.finish()
            print("trained \(steps) steps into run \(run.id) of \(store.path)")
        }
    }

    func run() throws {
        if one { return try trainOne() }
        let store = try self.store.open(create: true)
        let experiment = try store.experiment(named: "demo")
        let data = Dataset(seed: seed)
        let settings: [(lr: Double, l2: Double, batch: Int)] = [
            (0.5, 0, 32), (0.05, 0, 32), (0.05, 0.2, 64), (0.0005, 0, 16),
        ]
        let progress = ProgressBar(total: settings.count * steps)
        var ids: [RunID] = []
        for (index, setting) in settings.enumerated() {
            let run = try store.startRun(
                in: experiment, name: "lr=\(setting.lr) l2=\(setting.l2) batch=\(setting.batch)",
                params: params(setting))
            try train(run, setting: setting, data: data, seed: seed &+ UInt64(index)) {
                progress.advance(label: "run \(index + 1)/\(settings.count)")
            }
            try run.finish()
            ids.append(run.id)
        }
        progress.finish()
        print("experiment \"demo\" in \(store.path): \(settings.count) runs of \(steps) steps\n")
        printRuns(
            ids.compactMap { try? store.run($0) }, format: .table,
            columns: "learning_rate,l2,batch_size,val/loss,val/accuracy")
        let runs = try ids.map { try store.run($0) }
        print("")
        print(try Chart(store: store, runs: runs, names: runs.map(\.name), key: "val/loss").render())
        // What to try next, with this store and these runs.
        let storeArgument =
            store.path == "runlog-store" || store.path == "./runlog-store" ? "" : " --store \(store.path)"
        let (first, second) = (ids[0].description.prefix(12), ids[1].description.prefix(12))
        // As this program was invoked (`.build/release/runlog` under `make demo`).
        let runlog = CommandLine.arguments.first.map { $0.contains("/") ? $0 : "runlog" } ?? "runlog"
        print(
            """

            next:
              \(runlog)\(storeArgument) show \(first)
              \(runlog)\(storeArgument) compare \(first) \(second) --chart --metric train/loss --smooth 0.9
              \(runlog)\(storeArgument) search "metrics.val/loss < 0.4 and params.l2 = '0.0'"
              \(runlog)\(storeArgument) ui        # the web UI, at http://127.0.0.1:5000/
              \(runlog)\(storeArgument) run --experiment demo --name trainer -- \(runlog) demo --one --learning-rate 0.1
              \(runlog)\(storeArgument) rerun demo/trainer
            """)
    }
}

/// Two Gaussian classes whose means differ along every feature, with some label noise.
struct Dataset {
    static let features = 16
    typealias Sample = (x: [Double], y: Double)
    var train: [Sample] = []
    var validation: [Sample] = []

    init(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        func sample() -> Sample {
            let label = random.unit() < 0.5 ? 0.0 : 1.0
            let x = (0..<Dataset.features).map { f in
                random.gaussian() + (label == 1 ? 0.35 : -0.35) * (f % 3 == 0 ? 1.5 : 0.6)
            }
            let noisy = random.unit() < 0.05 ? 1 - label : label
            return (x, noisy)
        }
        train = (0..<4000).map { _ in sample() }
        validation = (0..<1000).map { _ in sample() }
    }
}

struct LogisticRegression {
    var weights: [Double]
    var bias = 0.0

    init(features: Int) {
        weights = Array(repeating: 0, count: features)
    }

    func probability(_ x: [Double]) -> Double {
        var z = bias
        for i in 0..<x.count { z += weights[i] * x[i] }
        return 1 / (1 + exp(-z))
    }

    /// One SGD step on `batch`; returns the batch's loss and accuracy before the step.
    mutating func step(_ batch: [Dataset.Sample], learningRate: Double, l2: Double) -> (Double, Double) {
        var gradient = Array(repeating: 0.0, count: weights.count)
        var gradientBias = 0.0
        var loss = 0.0
        var correct = 0
        for (x, y) in batch {
            let p = probability(x)
            loss -= y * log(max(p, 1e-12)) + (1 - y) * log(max(1 - p, 1e-12))
            if (p >= 0.5) == (y == 1) { correct += 1 }
            for i in 0..<x.count { gradient[i] += (p - y) * x[i] }
            gradientBias += p - y
        }
        let n = Double(batch.count)
        for i in 0..<weights.count { weights[i] -= learningRate * (gradient[i] / n + l2 * weights[i]) }
        bias -= learningRate * gradientBias / n
        return (loss / n, Double(correct) / n)
    }

    func evaluate(_ samples: [Dataset.Sample]) -> (Double, Double) {
        var loss = 0.0
        var correct = 0
        for (x, y) in samples {
            let p = probability(x)
            loss -= y * log(max(p, 1e-12)) + (1 - y) * log(max(1 - p, 1e-12))
            if (p >= 0.5) == (y == 1) { correct += 1 }
        }
        return (loss / Double(samples.count), Double(correct) / Double(samples.count))
    }
}

/// A progress bar on stdout, drawn only when stdout is a terminal.
final class ProgressBar {
    let total: Int
    private var done = 0
    private var lastDrawn = -1
    private let enabled = isatty(STDOUT_FILENO) != 0

    init(total: Int) {
        self.total = total
    }

    func advance(label: String) {
        done += 1
        guard enabled else { return }
        let percent = done * 100 / max(total, 1)
        guard percent != lastDrawn else { return }
        lastDrawn = percent
        let filled = percent * 30 / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 30 - filled)
        FileHandle.standardOutput.write(Data("\r\(bar) \(percent)%  \(label)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8))
    }
}
