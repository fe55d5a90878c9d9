import ArgumentParser
import Foundation
import Runlog
import RunlogWorkloads

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log a synthetic training run into a fresh store, then scan it back.",
        discussion: """
            Logs loss, accuracy, learning rate and gradient norm for --steps steps (seeded, float32 \
            precision, as a training loop would), flushes, reopens the run as a reader and prints each \
            series' summary, the bytes on disk per point, and a downsampled view of the loss.
            """)

    @OptionGroup var store: StoreOptionsGroup

    @Option(help: "Steps to log per series.")
    var steps: Int = 200_000

    @Option(help: "Seed of the synthetic curves.")
    var seed: UInt64 = 42

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
    }

    func run() throws {
        let store = try self.store.open(create: true)
        let writer = try store.createRun()
        let clock = ContinuousClock()
        var total = 0
        let elapsed = try clock.measure {
            for (offset, kind) in TrainingCurves.Kind.allCases.enumerated() {
                let series = try writer.series(kind.rawValue)
                for point in TrainingCurves.series(kind, count: steps, seed: seed &+ UInt64(offset)) {
                    try writer.log(series, step: point.step, timestamp: point.timestamp, value: point.value)
                }
                total += steps
            }
            try writer.append(.status(.finished, timestamp: TrainingCurves.startTimestamp))
            try writer.close()
        }
        print("logged \(total) points into run \(writer.runID) in \(store.path) (\(elapsed))")
        let reader = try store.openReader(writer.runID)
        let bytes = try diskBytes(of: writer.runID, in: store)
        print("on disk: \(bytes) bytes, \(format(Double(bytes) / Double(total), digits: 2)) bytes/point\n")
        print(pad("series", 15) + pad("points", 10) + pad("min", 12) + pad("max", 12) + pad("last", 12))
        for key in reader.index.keys {
            guard let summary = reader.index.series(key)?.summary else { continue }
            print(
                pad(key, 15) + pad("\(summary.count)", 10) + pad(format(summary.minValue), 12)
                    + pad(format(summary.maxValue), 12) + pad(format(summary.latest.value), 12))
        }
        let loss = try reader.scan("loss")
        print("\nloss, \(loss.count) points scanned back; every \(max(1, loss.count / 10))th step:")
        for point in stride(from: 0, to: loss.count, by: max(1, loss.count / 10)).map({ loss[$0] }) {
            print("  step \(pad("\(point.step)", 8)) \(format(point.value))")
        }
        let report = try store.verify(writer.runID)
        print(
            "\nverify: \(report.blocks) blocks, \(report.points) points, \(report.isClean ? "clean" : "PROBLEMS: \(report.problems)")"
        )
    }

    private func diskBytes(of run: RunID, in store: Store) throws -> Int {
        let directory = store.path + "/runs/\(run)"
        var total = 0
        for entry in try store.options.fileSystem.contentsOfDirectory(directory) where entry.hasSuffix(".segment") {
            let file = try store.options.fileSystem.open(directory + "/" + entry, writable: false, create: false)
            total += Int(try file.size())
            try file.close()
        }
        return total
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double, digits: Int = 4) -> String {
    guard value.isFinite else { return "\(value)" }
    return String(format: "%.\(digits)g", value)
}
