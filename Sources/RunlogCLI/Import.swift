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
                "timestamp value step"; nested keys are sub-folders), each run's artifacts, and deleted \
                experiments in .trash. Runs keep their MLflow ids, times and status. An experiment is \
                matched by name; a new one keeps its MLflow id (and tags) unless the store already uses \
                that id. A run already in the store is skipped, so a second import adds nothing.

                Artifacts are read from the run's artifacts/ folder, or from where its artifact_uri \
                points: a file: URI inside the mlruns directory or --artifacts-root, or an \
                mlflow-artifacts: URI under --artifacts-root (the MLflow server's \
                --artifacts-destination). Symbolic links and special files are reported and skipped, \
                never followed.
                """)
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "The mlruns directory.") var path: String
        @Option(
            name: .customLong("artifacts-root"),
            help: "Where mlflow-artifacts: URIs point (the MLflow server's --artifacts-destination).")
        var artifactsRoot: String?

        func run() throws {
            guard FileManager.default.fileExists(atPath: path + "/") else { throw CLIError("no directory \(path)") }
            if let artifactsRoot, !FileManager.default.fileExists(atPath: artifactsRoot + "/") {
                throw CLIError("--artifacts-root: no directory \(artifactsRoot)")
            }
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
            var imported = 0, skipped = 0, points = 0, artifacts = 0, failed = 0
            let runDirectories = try experiments.map { experiment in
                try FileManager.default.contentsOfDirectory(atPath: experiment.directory).sorted()
                    .filter { FileManager.default.fileExists(atPath: "\(experiment.directory)/\($0)/meta.yaml") }
            }
            let progress = ProgressBar(total: runDirectories.reduce(0) { $0 + $1.count })
            for (experimentDirectory, runs) in zip(experiments, runDirectories) {
                let meta = try yaml(experimentDirectory.directory + "/meta.yaml")
                guard let name = meta["name"]?.string else {
                    throw CLIError("\(experimentDirectory.directory)/meta.yaml has no name")
                }
                let mlflowID = meta["experiment_id"]?.string ?? ""
                let tags = try files(experimentDirectory.directory + "/tags")
                var (experiment, keptID) = try store.importExperiment(
                    named: name, preferredID: mlflowID, tags: tags)
                if !keptID {
                    warn(
                        "experiment \(JSON.quote(name)) (MLflow id \(JSON.quote(mlflowID))) is experiment "
                            + "\(experiment.id) here: the store has it by that name, or uses the id for another")
                }
                let deleted = experimentDirectory.deleted || meta["lifecycle_stage"]?.string == "deleted"
                for runDirectory in runs {
                    progress.advance(label: name)
                    do {
                        let run = try readRun("\(experimentDirectory.directory)/\(runDirectory)")
                        if try store.importRun(run, into: experiment) {
                            imported += 1
                            points += run.metrics.values.reduce(0) { $0 + $1.count }
                            artifacts += run.artifacts.count
                        } else {
                            skipped += 1
                        }
                    } catch {
                        failed += 1
                        warn("\(experimentDirectory.directory)/\(runDirectory): \(error)")
                    }
                }
                if deleted && experiment.lifecycle == .active { experiment = try store.deleteExperiment(experiment.id) }
            }
            progress.finish()
            print(
                "imported \(imported) runs (\(points) points, \(artifacts) artifacts) from \(experiments.count) experiments; "
                    + "\(skipped) runs already present" + (failed > 0 ? "; \(failed) runs could not be read" : ""))
            if failed > 0 { throw ExitCode(1) }
        }

        private func warn(_ message: String) {
            FileHandle.standardError.write(Data("runlog import: \(TextSafety.forTerminal(message))\n".utf8))
        }

        private func readRun(_ directory: String) throws -> ImportedRun {
            let meta = try yaml(directory + "/meta.yaml")
            // Scalars are read as their text: an all-digit id is an id, not a number.
            guard let idText = meta["run_id"]?.string ?? meta["run_uuid"]?.string, let id = RunID(idText) else {
                throw CLIError("meta.yaml has no 32-hex run_id")
            }
            let status = meta["status"]?.int.flatMap { RunStatus(rawValue: UInt8(clamping: $0)) } ?? .finished
            var run = ImportedRun(
                id: id, name: meta["run_name"]?.string ?? "", status: status,
                startTime: meta["start_time"]?.int.map(Int64.init),
                endTime: meta["end_time"]?.int.map(Int64.init))
            run.deleted = meta["lifecycle_stage"]?.string == "deleted"
            run.params = try files(directory + "/params")
            run.tags = try files(directory + "/tags")
            for (key, text) in try files(directory + "/metrics") {
                var series: [MetricPoint] = []
                for (n, line) in text.split(separator: "\n").enumerated() {
                    let fields = line.split(separator: " ")
                    guard fields.count == 2 || fields.count == 3, let timestamp = Int64(fields[0]),
                        let value = mlflowNumber(fields[1])
                    else {
                        throw CLIError("metrics/\(key) line \(n + 1): expected \"timestamp value step\"")
                    }
                    var step: Int64 = 0
                    if fields.count == 3 {
                        guard let parsed = Int64(fields[2]) else {
                            throw CLIError(
                                "metrics/\(key) line \(n + 1): step \(JSON.quote(String(fields[2]))) is not a 64-bit integer"
                            )
                        }
                        step = parsed
                    }
                    series.append(MetricPoint(step: step, timestamp: timestamp, value: value))
                }
                run.metrics[key] = series
            }
            if let source = try artifactSource(directory, uri: meta["artifact_uri"]?.string ?? "") {
                run.artifacts = try regularFiles(below: source)
            }
            return run
        }

        /// The directory holding a run's artifacts, or nil when it has none to import here.
        private func artifactSource(_ runDirectory: String, uri: String) throws -> String? {
            let local = runDirectory + "/artifacts"
            if FileManager.default.fileExists(atPath: local + "/") { return local }
            let candidate: String
            if uri.hasPrefix("mlflow-artifacts:") {
                guard let artifactsRoot else {
                    if !uri.isEmpty { warn("\(runDirectory): artifacts at \(uri) not imported: pass --artifacts-root") }
                    return nil
                }
                let rest = uri.dropFirst("mlflow-artifacts:".count).drop { $0 == "/" }
                candidate = artifactsRoot + "/" + rest
            } else if let url = URL(string: uri), url.scheme == "file" {
                candidate = url.path
            } else {
                return nil
            }
            guard FileManager.default.fileExists(atPath: candidate + "/") else { return nil }
            let resolved = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
            let roots = [path] + (artifactsRoot.map { [$0] } ?? [])
            guard
                roots.contains(where: {
                    resolved.hasPrefix(URL(fileURLWithPath: $0).resolvingSymlinksInPath().path + "/")
                })
            else {
                warn("\(runDirectory): artifacts at \(uri) not imported: outside \(roots.joined(separator: " and "))")
                return nil
            }
            return resolved
        }

        /// The regular files below `root`, by their path relative to it. Links and special files
        /// are reported and skipped; nothing is followed out of `root`.
        private func regularFiles(below root: String) throws -> [String: String] {
            var result: [String: String] = [:]
            func walk(_ relative: String) throws {
                let directory = relative.isEmpty ? root : root + "/" + relative
                for entry in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
                    let path = relative.isEmpty ? entry : relative + "/" + entry
                    var info = stat()
                    guard lstat(root + "/" + path, &info) == 0 else { continue }
                    switch info.st_mode & S_IFMT {
                    case S_IFDIR: try walk(path)
                    case S_IFREG: result[path] = root + "/" + path
                    case S_IFLNK: warn("\(root)/\(path): a symbolic link, not imported")
                    default: warn("\(root)/\(path): not a regular file, not imported")
                    }
                }
            }
            try walk("")
            return result
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

        private func yaml(_ path: String) throws -> Node.Mapping {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            guard let map = try Yams.compose(yaml: text)?.mapping else {
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
