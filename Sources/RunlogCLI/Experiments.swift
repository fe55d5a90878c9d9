import ArgumentParser
import Foundation
import Runlog

struct Experiments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List experiments (id, name, runs, last activity), or create, delete and restore them.",
        usage: """
            runlog experiments [--all] [--format F]
              runlog experiments create NAME
              runlog experiments delete EXPERIMENT…
              runlog experiments restore EXPERIMENT…
            """,
        subcommands: [Create.self, Delete.self, Restore.self])

    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @Flag(help: "Include deleted experiments.") var all = false

    func run() throws {
        let store = try self.store.open()
        let runs = store.runs(includeDeleted: true)
        var table = DataTable(columns: ["id", "name", "runs", "last activity", "lifecycle"])
        table.csvColumns = ["experiment_id", "name", "runs", "last_update_time", "lifecycle_stage"]
        for experiment in try store.experiments(includeDeleted: all) {
            let mine = runs.filter { $0.experimentID == experiment.id }
            let last = mine.compactMap(\.lastWriteTime).max() ?? experiment.creationTime
            table.append(
                [experiment.id, experiment.name, "\(mine.count)", formatTime(last), experiment.lifecycle.rawValue],
                csv: [experiment.id, experiment.name, "\(mine.count)", "\(last)", experiment.lifecycle.rawValue])
            table.objects.append(
                .object([
                    ("experiment_id", .string(experiment.id)), ("name", .string(experiment.name)),
                    ("lifecycle_stage", .string(experiment.lifecycle.rawValue)),
                    ("creation_time", .integer(experiment.creationTime)), ("last_update_time", .integer(last)),
                    ("run_count", .integer(Int64(mine.count))),
                    ("tags", keyValues(experiment.tags)),
                ]))
        }
        table.print(output.format)
        for damage in try store.damagedExperimentFiles() {
            printWarning("\(damage)")
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an experiment (or get it, if it exists).")
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "The experiment's name.") var name: String

        func run() throws {
            print(try store.open(create: true).experiment(named: name).id)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Soft-delete experiments; their runs are hidden too until restored or removed by gc.")
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "Experiment names or ids.") var experiments: [String]

        func run() throws {
            let store = try self.store.open()
            for name in experiments {
                print("deleted \(try store.deleteExperiment(try experimentID(name, store)).name)")
            }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore soft-deleted experiments.")
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "Experiment names or ids.") var experiments: [String]

        func run() throws {
            let store = try self.store.open()
            for name in experiments {
                print("restored \(try store.restoreExperiment(try experimentID(name, store)).name)")
            }
        }
    }
}

/// The experiment named `name`, deleted ones included; nil when there is none (nothing is created).
func experiment(named name: String, in store: TrackingStore) throws -> Experiment? {
    try store.experiments(includeDeleted: true).first { $0.name == name }
}

/// An experiment named by its name or id.
func experimentID(_ text: String, _ store: TrackingStore) throws -> String {
    if let match = try experiment(named: text, in: store) { return match.id }
    if let match = try store.experiments(includeDeleted: true).first(where: { $0.id == text }) { return match.id }
    throw CLIError("no experiment named \"\(text)\"")
}
