import ArgumentParser
import Foundation
import Runlog
import Yams

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import from other tracking systems.", subcommands: [MLflow.self])

    struct MLflow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mlflow",
            abstract: "Import an MLflow file store (an mlruns directory), idempotently.",
            discussion: """
                Reads each experiment's and run's meta.yaml, params/, tags/ and metrics/ (lines of \
                "timestamp value step"; nested keys are sub-folders), and deleted experiments in .trash. \
                Runs keep their MLflow ids, times and status; experiments are matched by name. A run \
                already in the store is skipped, so a second import adds nothing.
                """)
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "The mlruns directory.") var path: String

        func run() throws {
            guard FileManager.default.fileExists(atPath: path + "/") else { throw CLIError("no directory \(path)") }
            let store = try self.store.open(create: true)
            var experiments: [(directory: String, deleted: Bool)] = []
            for entry in try FileManager.default.contentsOfDirectory(atPath: path).sorted() where entry != ".trash" {
                if FileManager.default.fileExists(atPath: "\(path)/\(entry)/meta.yaml") {
                    experiments.append(("\(path)/\(entry)", false))
                }
            }
            let trash = path + "/.trash"
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: trash).sorted()) ?? [] {
                if FileManager.default.fileExists(atPath: "\(trash)/\(entry)/meta.yaml") {
                    experiments.append(("\(trash)/\(entry)", true))
                }
            }
            var imported = 0, skipped = 0, points = 0, failed = 0
            let runDirectories = try experiments.map { experiment in
                try FileManager.default.contentsOfDirectory(atPath: experiment.directory).sorted()
                    .filter { FileManager.default.fileExists(atPath: "\(experiment.directory)/\($0)/meta.yaml") }
            }
            let progress = ProgressBar(total: runDirectories.reduce(0) { $0 + $1.count })
            for (experimentDirectory, runs) in zip(experiments, runDirectories) {
                let meta = try yaml(experimentDirectory.directory + "/meta.yaml")
                guard let name = meta["name"] as? String else {
                    throw CLIError("\(experimentDirectory.directory)/meta.yaml has no name")
                }
                var experiment = try store.experiment(named: name)
                let deleted = experimentDirectory.deleted || (meta["lifecycle_stage"] as? String) == "deleted"
                for runDirectory in runs {
                    progress.advance(label: name)
                    do {
                        let run = try readRun("\(experimentDirectory.directory)/\(runDirectory)")
                        if try store.importRun(run, into: experiment) {
                            imported += 1
                            points += run.metrics.values.reduce(0) { $0 + $1.count }
                        } else {
                            skipped += 1
                        }
                    } catch {
                        failed += 1
                        FileHandle.standardError.write(
                            Data("\(experimentDirectory.directory)/\(runDirectory): \(error)\n".utf8))
                    }
                }
                if deleted && experiment.lifecycle == .active { experiment = try store.deleteExperiment(experiment.id) }
            }
            progress.finish()
            print(
                "imported \(imported) runs (\(points) points) from \(experiments.count) experiments; \(skipped) runs already present"
                    + (failed > 0 ? "; \(failed) runs could not be read" : ""))
            if failed > 0 { throw ExitCode(1) }
        }

        private func readRun(_ directory: String) throws -> ImportedRun {
            let meta = try yaml(directory + "/meta.yaml")
            guard let idText = meta["run_id"] as? String ?? meta["run_uuid"] as? String, let id = RunID(idText) else {
                throw CLIError("meta.yaml has no 32-hex run_id")
            }
            let status = (meta["status"] as? Int).flatMap { RunStatus(rawValue: UInt8(clamping: $0)) } ?? .finished
            var run = ImportedRun(
                id: id, name: meta["run_name"] as? String ?? "", status: status,
                startTime: (meta["start_time"] as? Int).map(Int64.init),
                endTime: (meta["end_time"] as? Int).map(Int64.init))
            run.deleted = (meta["lifecycle_stage"] as? String) == "deleted"
            run.params = try files(directory + "/params")
            run.tags = try files(directory + "/tags")
            for (key, text) in try files(directory + "/metrics") {
                var series: [MetricPoint] = []
                for (n, line) in text.split(separator: "\n").enumerated() {
                    let fields = line.split(separator: " ")
                    guard fields.count >= 2, let timestamp = Int64(fields[0]), let value = mlflowNumber(fields[1])
                    else {
                        throw CLIError("metrics/\(key) line \(n + 1): expected \"timestamp value step\"")
                    }
                    series.append(
                        MetricPoint(
                            step: fields.count > 2 ? Int64(fields[2]) ?? 0 : 0, timestamp: timestamp, value: value))
                }
                run.metrics[key] = series
            }
            return run
        }

        /// Files under `directory`, by path relative to it (nested keys are sub-folders).
        private func files(_ directory: String) throws -> [String: String] {
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [:] }
            var result: [String: String] = [:]
            for case let relative as String in enumerator {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                else { continue }
                result[relative] = try String(contentsOfFile: directory + "/" + relative, encoding: .utf8)
            }
            return result
        }

        private func yaml(_ path: String) throws -> [String: Any] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            guard let map = try Yams.load(yaml: text) as? [String: Any] else {
                throw CLIError("\(path) is not a YAML mapping")
            }
            return map
        }
    }
}

/// Python's float spellings, as MLflow writes them.
func mlflowNumber(_ text: Substring) -> Double? {
    switch text.lowercased() {
    case "nan": .nan
    case "inf", "infinity": .infinity
    case "-inf", "-infinity": -.infinity
    default: Double(text)
    }
}
