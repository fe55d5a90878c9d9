import ArgumentParser
import Foundation
import Runlog

struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Permanently remove deleted runs and experiments, as `mlflow gc` does.",
        discussion: """
            Removes what `runs delete` and `experiments delete` (or MLflow's client) soft-deleted, with \
            its artifacts, and the files of logged models MLflow's client deleted. Runs still being written are left in place and named; run gc again once \
            they finish. --older-than 30d removes only what was deleted at least 30 days ago (units \
            ms, s, m, h, d, w); --dry-run removes nothing and lists what would go.
            """)

    @OptionGroup var store: StoreOptionsGroup
    @Flag(name: .customLong("dry-run"), help: "List what would be removed; remove nothing.") var dryRun = false
    @Option(
        name: .customLong("older-than"),
        help: ArgumentHelp("Only what was deleted at least this long ago, e.g. 30d or 12h.", valueName: "duration"))
    var olderThan: DurationArgument?

    func run() throws {
        let store = try self.store.open()
        let cutoff = olderThan.map { Int64(Date().timeIntervalSince1970 * 1000) - $0.milliseconds }
        let result = try store.gc(deletedBefore: cutoff, dryRun: dryRun)
        let verb = dryRun ? "would remove" : "removed"
        print(
            "\(verb) \(result.removedRuns.count) runs and \(result.removedExperiments.count) experiments, freeing \(result.bytesFreed) bytes"
        )
        for run in result.removedRuns { print("  run \(run)") }
        for experiment in result.removedExperiments { print("  experiment \(experiment)") }
        for (run, reason) in result.skipped { print("  kept run \(run): \(reason)") }
        for (experiment, reason) in result.keptExperiments { print("  kept experiment \(experiment): \(reason)") }
        if !dryRun {
            let debris = store.removeAbandonedUploads()
            if !debris.isEmpty { print("removed \(debris.count) files of uploads a stopped process left") }
        }
        let models = try ModelStore(storePath: store.path).removeDeletedModelFiles(dryRun: dryRun)
        if !models.isEmpty {
            print(
                "\(verb) the files of \(models.count) deleted logged models, \(models.reduce(0) { $0 + $1.bytes }) bytes"
            )
            for model in models { print("  logged model \(model.id)") }
        }
    }
}
