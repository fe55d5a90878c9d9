import ArgumentParser
import Foundation
import Runlog

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export runs' metric points as CSV or JSON Lines, or a whole experiment to a directory.",
        discussion: """
            runlog export RUN… writes every point to stdout: CSV run_id,key,step,timestamp,value, or JSON \
            Lines {"run_id", "key", "value", "timestamp", "step"} (non-finite values as "NaN", "Infinity", \
            "-Infinity"). runlog export --experiment E --out DIR writes DIR/runs.jsonl (one run a line, \
            MLflow's field names) and DIR/<run id>.csv for each run. Points stream; no run is held in memory whole.
            """)
    /// CSV, or JSON Lines by either name (as every command that prints data takes).
    enum Format: String, ExpressibleByArgument { case csv, jsonl, json }

    @OptionGroup var store: StoreOptionsGroup
    @Argument(help: ArgumentHelp("Runs: ids, unique prefixes, or EXPERIMENT/RUN_NAME.", valueName: "run")) var runs:
        [String] = []
    @Option(help: "csv, or JSON Lines: jsonl (or json).") var format: Format = .csv
    @Option(name: .customLong("metric"), help: "Only this metric (repeatable).") var metrics: [String] = []
    @Option(help: "Export every run of this experiment (with --out).") var experiment: String?
    @Option(help: "The directory an experiment is exported to.") var out: String?
    @OptionGroup var damage: DamageOption

    func validate() throws {
        if experiment != nil && out == nil { throw ValidationError("--experiment needs --out DIR") }
        if experiment == nil && runs.isEmpty {
            throw ValidationError("name runs to export, or --experiment E --out DIR")
        }
        if experiment != nil && !runs.isEmpty { throw ValidationError("give runs or --experiment, not both") }
    }

    func run() throws {
        let store = try self.store.open()
        if let experiment, let out {
            let id = try experimentID(experiment, store)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let runs = store.runs(experimentIDs: [id])
            let damaged = damage.warn(runs, store: store, listing: true)
            let lines = runs.map { runJSON($0).text }.joined(separator: "\n") + (runs.isEmpty ? "" : "\n")
            try Data(lines.utf8).write(to: URL(fileURLWithPath: out + "/runs.jsonl"))
            let progress = ProgressBar(total: runs.count)
            defer { progress.finish() }
            for run in runs {
                progress.advance(label: "export")
                guard let file = FileHandle(forWritingAtPath: try createFile(out + "/\(run.id).csv")) else {
                    throw CLIError("cannot write \(out)/\(run.id).csv")
                }
                defer { try? file.close() }  // the data was written through write(_:); closing flushes nothing more
                file.write(Data("key,step,timestamp,value\n".utf8))
                try points(of: run, store) { key, chunk in
                    var text = ""
                    for p in chunk {
                        text += "\(DataTable.csvField(key)),\(p.step),\(p.timestamp),\(exactNumber(p.value))\n"
                    }
                    file.write(Data(text.utf8))
                }
            }
            print("exported \(runs.count) runs of \(experiment) to \(out)")
            return try damage.finish(damaged)
        }
        let chosen = try runs.map { try store.run(try resolveRun($0, in: store)) }
        let damaged = damage.warn(chosen, store: store)
        // Rows are written straight to the descriptor; the header must take the same path.
        if format == .csv { FileHandle.standardOutput.write(Data("run_id,key,step,timestamp,value\n".utf8)) }
        for run in chosen {
            try points(of: run, store) { key, chunk in
                var text = ""
                for p in chunk {
                    switch format {
                    case .csv:
                        text +=
                            "\(run.id),\(DataTable.csvField(key)),\(p.step),\(p.timestamp),\(exactNumber(p.value))\n"
                    case .jsonl, .json:
                        text +=
                            JSON.object([
                                ("run_id", .string(run.id.description)), ("key", .string(key)),
                                ("value", .value(p.value)),
                                ("timestamp", .integer(p.timestamp)), ("step", .integer(p.step)),
                            ]).text + "\n"
                    }
                }
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
        try damage.finish(damaged)
    }

    private func points(
        of run: RunInfo, _ store: TrackingStore, _ body: (String, UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        for key in run.metrics.keys.sorted() where metrics.isEmpty || metrics.contains(key) {
            try store.history(of: run.id, key, allowDamaged: true) { try body(key, $0) }
        }
    }

    private func createFile(_ path: String) throws -> String {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CLIError("cannot create \(path)")
        }
        return path
    }
}
