import ArgumentParser
import Runlog

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge runs' blocks and segments into large step-sorted blocks.",
        discussion: """
            Compacts the given runs, or every run. A run being written is deferred until its writer \
            closes. Queries give the same answers before, during and after. With --if-needed, only \
            runs the policy finds worth it (several segments, or a series with many small blocks).
            """)

    @OptionGroup var store: StoreOptionsGroup

    @Argument(
        help: ArgumentHelp("Runs to compact (ids or unique prefixes); all runs when none are given.", valueName: "run"))
    var runs: [String] = []

    @Flag(help: "Only compact runs the policy finds worth compacting.")
    var ifNeeded = false

    func run() throws {
        let tracking = try self.store.open()
        let store = tracking.engine
        defer { store.close() }
        let ids = runs.isEmpty ? try store.runs() : try runs.map { try resolveRun($0, in: tracking) }
        let progress = ProgressBar(total: ids.count)
        var reports: [String] = []
        for id in ids {
            progress.advance(label: "compact")
            reports.append("\(try store.compact(id, force: !ifNeeded))")
        }
        progress.finish()
        for report in reports { print(report) }
    }
}
