import ArgumentParser
import Runlog

struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Permanently remove deleted runs and experiments, as `mlflow gc` does.",
        discussion: "Runs still being written are left in place and named; run gc again once they finish.")

    @OptionGroup var store: StoreOptionsGroup

    func run() throws {
        let store = try self.store.open()
        let result = try store.gc()
        print(
            "removed \(result.removedRuns.count) runs and \(result.removedExperiments.count) experiments, freeing \(result.bytesFreed) bytes"
        )
        for run in result.removedRuns { print("  run \(run)") }
        for experiment in result.removedExperiments { print("  experiment \(experiment)") }
        for (run, reason) in result.skipped { print("  kept run \(run): \(reason)") }
    }
}
