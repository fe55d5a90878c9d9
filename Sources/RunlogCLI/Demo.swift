import ArgumentParser
import Foundation
import Runlog
import RunlogWorkloads

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small model under 4 hyperparameter settings, then list and compare the runs.",
        discussion: """
            Trains two small models by mini-batch SGD on seeded synthetic data (16 features, 4,000 \
            training and 1,000 validation samples: the class is mostly whether the first two features \
            fall inside a circle, which no straight line separates, plus a weak linear hint in five \
            others and 5% label noise): logistic regression under 3 settings of learning rate, L2 \
            penalty and batch size, and an MLP with one hidden layer of 16 tanh units. Each run logs \
            train/loss and train/accuracy at every step, val/loss and val/accuracy every 100 steps, \
            and its params, into experiment "demo"; then the runs table and a chart of val/loss are \
            printed, and the next commands to try.
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
    @Option(help: "With --one: the model, logistic_regression or mlp.") var model: DemoModelKind = .logisticRegression

    func validate() throws {
        guard steps >= 100 else { throw ValidationError("--steps must be at least 100") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard learningRate > 0, learningRate.isFinite, l2 >= 0, l2.isFinite else {
            throw ValidationError("--learning-rate must be above 0 and --l2 at least 0")
        }
    }

    typealias Setting = (model: DemoModelKind, lr: Double, l2: Double, batch: Int)

    func params(_ setting: Setting) -> [String: String] {
        [
            "learning_rate": "\(setting.lr)", "l2": "\(setting.l2)", "batch_size": "\(setting.batch)",
            "model": setting.model.rawValue, "seed": "\(seed)",
        ]
    }

    func name(_ setting: Setting) -> String {
        (setting.model == .mlp ? "mlp " : "") + "lr=\(setting.lr) l2=\(setting.l2) batch=\(setting.batch)"
    }

    /// Trains one setting into `run`: train/ metrics every step, val/ ones every 100.
    func train(
        _ run: ActiveRun, setting: Setting, data: Dataset, seed: UInt64, advance: () -> Void
    ) throws {
        var random = SeededRandom(seed: seed)
        var model: any DemoModel =
            setting.model == .mlp
            ? MLP(features: Dataset.features, hidden: 16, random: &random)
            : LogisticRegression(features: Dataset.features)
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
        let setting: Setting = (model, learningRate, l2, batchSize)
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
                name: name(setting), params: params(setting))
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
        let settings: [Setting] = [
            (.logisticRegression, 0.5, 0, 32), (.logisticRegression, 0.05, 0, 32),
            (.logisticRegression, 0.05, 0.2, 64), (.mlp, 0.1, 0, 32),
        ]
        let progress = ProgressBar(total: settings.count * steps)
        var ids: [RunID] = []
        for (index, setting) in settings.enumerated() {
            let run = try store.startRun(in: experiment, name: name(setting), params: params(setting))
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
            columns: "model,learning_rate,l2,batch_size,val/loss,val/accuracy")
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
        #if RUNLOG_WITHOUT_SERVER
            print(
                """
                  (ui, run and rerun need the server, which this quick build leaves out: \
                `swift build --product runlog` adds it)
                """)
        #endif
    }
}

/// A class that is mostly whether features 0 and 1 fall inside a circle holding half of their
/// mass — which no straight line separates — plus a weak linear hint in features 3, 6, 9, 12 and
/// 15, and 5% label noise: logistic regression reaches the hint, a hidden layer the circle.
struct Dataset {
    static let features = 16
    typealias Sample = (x: [Double], y: Double)
    var train: [Sample] = []
    var validation: [Sample] = []

    init(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        func sample() -> Sample {
            var x = (0..<Dataset.features).map { _ in random.gaussian() }
            // P(x0² + x1² < 2 ln 2) = 1/2 for two standard normal features.
            let label = x[0] * x[0] + x[1] * x[1] < 2 * log(2.0) ? 1.0 : 0.0
            for f in stride(from: 3, to: Dataset.features, by: 3) { x[f] += label == 1 ? 0.3 : -0.3 }
            let noisy = random.unit() < 0.05 ? 1 - label : label
            return (x, noisy)
        }
        train = (0..<4000).map { _ in sample() }
        validation = (0..<1000).map { _ in sample() }
    }
}

enum DemoModelKind: String, ExpressibleByArgument, Sendable {
    case logisticRegression = "logistic_regression"
    case mlp
}

/// The log loss of predicting `p` for label `y` (0 or 1), kept finite at p = 0 or 1.
func logLoss(_ p: Double, _ y: Double) -> Double {
    -(y * log(max(p, 1e-12)) + (1 - y) * log(max(1 - p, 1e-12)))
}

/// Whether `p` predicts label `y` (0 or 1) at the 0.5 threshold.
func isCorrect(_ p: Double, _ y: Double) -> Bool { (p >= 0.5) == (y == 1) }

/// A binary classifier the demo trains by SGD.
protocol DemoModel {
    func probability(_ x: [Double]) -> Double
    /// One SGD step on `batch`; returns the batch's loss and accuracy before the step.
    mutating func step(_ batch: [Dataset.Sample], learningRate: Double, l2: Double) -> (Double, Double)
}

extension DemoModel {
    /// Mean log loss and accuracy over `samples`.
    func evaluate(_ samples: [Dataset.Sample]) -> (Double, Double) {
        var loss = 0.0
        var correct = 0
        for (x, y) in samples {
            let p = probability(x)
            loss += logLoss(p, y)
            if isCorrect(p, y) { correct += 1 }
        }
        return (loss / Double(samples.count), Double(correct) / Double(samples.count))
    }
}

struct LogisticRegression: DemoModel {
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
            loss += logLoss(p, y)
            if isCorrect(p, y) { correct += 1 }
            for i in 0..<x.count { gradient[i] += (p - y) * x[i] }
            gradientBias += p - y
        }
        let n = Double(batch.count)
        for i in 0..<weights.count { weights[i] -= learningRate * (gradient[i] / n + l2 * weights[i]) }
        bias -= learningRate * gradientBias / n
        return (loss / n, Double(correct) / n)
    }

}

/// One hidden layer of tanh units and a sigmoid output.
struct MLP: DemoModel {
    var hiddenWeights: [[Double]]
    var hiddenBiases: [Double]
    var outputWeights: [Double]
    var outputBias = 0.0

    init(features: Int, hidden: Int, random: inout SeededRandom) {
        let scale = 1 / Double(features).squareRoot()
        hiddenWeights = (0..<hidden).map { _ in (0..<features).map { _ in random.gaussian() * scale } }
        hiddenBiases = Array(repeating: 0, count: hidden)
        outputWeights = (0..<hidden).map { _ in random.gaussian() / Double(hidden).squareRoot() }
    }

    private func forward(_ x: [Double]) -> (hidden: [Double], p: Double) {
        var hidden = hiddenBiases
        for j in 0..<hidden.count {
            for k in 0..<x.count { hidden[j] += hiddenWeights[j][k] * x[k] }
            hidden[j] = tanh(hidden[j])
        }
        var z = outputBias
        for j in 0..<hidden.count { z += outputWeights[j] * hidden[j] }
        return (hidden, 1 / (1 + exp(-z)))
    }

    func probability(_ x: [Double]) -> Double { forward(x).p }

    mutating func step(_ batch: [Dataset.Sample], learningRate: Double, l2: Double) -> (Double, Double) {
        let width = hiddenBiases.count
        var hiddenGradient = Array(repeating: Array(repeating: 0.0, count: hiddenWeights[0].count), count: width)
        var hiddenBiasGradient = Array(repeating: 0.0, count: width)
        var outputGradient = Array(repeating: 0.0, count: width)
        var outputBiasGradient = 0.0
        var loss = 0.0
        var correct = 0
        for (x, y) in batch {
            let (hidden, p) = forward(x)
            loss += logLoss(p, y)
            if isCorrect(p, y) { correct += 1 }
            let output = p - y
            outputBiasGradient += output
            for j in 0..<width {
                outputGradient[j] += output * hidden[j]
                let inner = output * outputWeights[j] * (1 - hidden[j] * hidden[j])
                hiddenBiasGradient[j] += inner
                for k in 0..<x.count { hiddenGradient[j][k] += inner * x[k] }
            }
        }
        let n = Double(batch.count)
        for j in 0..<width {
            outputWeights[j] -= learningRate * (outputGradient[j] / n + l2 * outputWeights[j])
            hiddenBiases[j] -= learningRate * hiddenBiasGradient[j] / n
            for k in 0..<hiddenWeights[j].count {
                hiddenWeights[j][k] -= learningRate * (hiddenGradient[j][k] / n + l2 * hiddenWeights[j][k])
            }
        }
        outputBias -= learningRate * outputBiasGradient / n
        return (loss / n, Double(correct) / n)
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
