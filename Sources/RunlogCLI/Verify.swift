import ArgumentParser
import Runlog

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every checksum and decode every block of runs; exit 1 on corruption.",
        discussion: "A torn tail (a writer stopped mid-record) is mentioned but is not a failure.")

    @OptionGroup var store: StoreOptionsGroup

    @Argument(help: "Runs to check (ids or unique prefixes); all runs when none are given.")
    var runs: [String] = []

    func run() throws {
        let tracking = try self.store.open()
        let store = tracking.engine
        let ids = runs.isEmpty ? try store.runs() : try runs.map { try resolveRun($0, in: tracking) }
        var clean = true
        for id in ids {
            let report = try store.verify(id)
            print(
                "\(id): \(report.series) series, \(report.blocks) blocks, \(report.points) points, \(report.records) records"
            )
            if let torn = report.tornTail { print("  note: \(torn)") }
            for problem in report.problems { print("  \(problem.isCorruption ? "error" : "note"): \(problem)") }
            clean = clean && report.isClean
        }
        if !clean { throw ExitCode(1) }
    }
}
