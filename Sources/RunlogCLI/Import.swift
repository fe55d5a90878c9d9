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
            for entry in try directories(holdingMeta: path) where entry != ".trash" {
                experiments.append(("\(path)/\(entry)", false))
            }
            let trash = path + "/.trash"
            if Self.kind(trash) == S_IFDIR {
                for entry in try directories(holdingMeta: trash) { experiments.append(("\(trash)/\(entry)", true)) }
            }
            var imported = 0, skipped = 0, points = 0, artifacts = 0, failed = 0, failedExperiments = 0
            let runDirectories = try experiments.map { try directories(holdingMeta: $0.directory) }
            let progress = ProgressBar(total: runDirectories.reduce(0) { $0 + $1.count })
            for (experimentDirectory, runs) in zip(experiments, runDirectories) {
                // A bad experiment (its meta.yaml, its name) costs that experiment and its runs only.
                let experiment: Experiment
                let deleted: Bool
                do {
                    (experiment, deleted) = try readExperiment(experimentDirectory.directory, store)
                } catch {
                    failedExperiments += 1
                    failed += runs.count
                    for _ in runs { progress.advance(label: "") }
                    warn("\(experimentDirectory.directory): \(error); its \(runs.count) runs are not imported")
                    continue
                }
                for runDirectory in runs {
                    progress.advance(label: experiment.name)
                    do {
                        let run = try readRun("\(experimentDirectory.directory)/\(runDirectory)")
                        if try store.importRun(run, into: experiment) {
                            imported += 1
                            points += try store.run(run.id).metrics.values.reduce(0) { $0 + $1.count }
                            artifacts += run.artifacts.count
                        } else {
                            skipped += 1
                        }
                    } catch {
                        failed += 1
                        warn("\(experimentDirectory.directory)/\(runDirectory): \(error)")
                    }
                }
                if (experimentDirectory.deleted || deleted) && experiment.lifecycle == .active {
                    _ = try store.deleteExperiment(experiment.id)
                }
            }
            progress.finish()
            print(
                "imported \(imported) runs (\(points) points, \(artifacts) artifacts) from "
                    + "\(experiments.count - failedExperiments) experiments; \(skipped) runs already present"
                    + (failedExperiments > 0 ? "; \(failedExperiments) experiments could not be read" : "")
                    + (failed > 0 ? "; \(failed) runs could not be read" : ""))
            if failed > 0 || failedExperiments > 0 { throw ExitCode(1) }
        }

        /// The experiment a directory holds, found or made in the store, and whether MLflow had it
        /// deleted.
        private func readExperiment(_ directory: String, _ store: TrackingStore) throws -> (Experiment, Bool) {
            let meta = try yaml(directory + "/meta.yaml")
            guard let name = meta["name"]?.string else { throw CLIError("meta.yaml has no name") }
            let mlflowID = meta["experiment_id"]?.string ?? ""
            let tags = try files(directory + "/tags")
            let (experiment, keptID) = try store.importExperiment(named: name, preferredID: mlflowID, tags: tags)
            if !keptID {
                warn(
                    "experiment \(JSON.quote(name)) (MLflow id \(JSON.quote(mlflowID))) is experiment "
                        + "\(experiment.id) here: the store has it by that name, or uses the id for another")
            }
            return (experiment, meta["lifecycle_stage"]?.string == "deleted")
        }

        /// The sub-directories of `directory` that hold a meta.yaml, sorted. Links are reported
        /// and skipped, never followed.
        private func directories(holdingMeta directory: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { entry in
                let path = directory + "/" + entry
                switch Self.kind(path) {
                case S_IFDIR: return Self.kind(path + "/meta.yaml") != nil
                case S_IFLNK:
                    warn("\(path): a symbolic link, not imported")
                    return false
                default: return false
                }
            }
        }

        /// The file type of `path` itself (S_IFDIR, S_IFREG, S_IFLNK…), links not followed; nil
        /// when there is nothing there.
        static func kind(_ path: String) -> mode_t? {
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            return info.st_mode & S_IFMT
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
            run.deletionTime = meta["deleted_time"]?.int.map(Int64.init)
            run.params = try files(directory + "/params")
            run.tags = try files(directory + "/tags")
            for (key, file) in try regularFiles(below: directory + "/metrics") {
                run.metrics[key] = MLflowMetricFile(path: file, key: key)
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
            switch Self.kind(root) {
            case S_IFDIR: break
            case nil: return [:]
            case S_IFLNK:
                warn("\(root): a symbolic link, not imported")
                return [:]
            default:
                warn("\(root): not a directory, not imported")
                return [:]
            }
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

        /// The text of each file under `directory`, by path relative to it (nested keys are
        /// sub-folders); links and special files are reported and skipped.
        private func files(_ directory: String) throws -> [String: String] {
            try regularFiles(below: directory).mapValues { try ImportFile.text(of: $0) }
        }

        private func yaml(_ path: String) throws -> Node.Mapping {
            let text = try ImportFile.text(of: path)
            try YAMLGuard.check(text, name: (path as NSString).lastPathComponent)
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
