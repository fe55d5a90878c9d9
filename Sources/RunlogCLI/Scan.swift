import ArgumentParser
import Runlog

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the history of one metric of a run, as CSV (step,timestamp,value).")

    @OptionGroup var store: StoreOptionsGroup

    @Argument(help: ArgumentHelp("The run: its id or a unique prefix of it.", valueName: "run"))
    var runReference: String

    @Argument(help: "The metric key.")
    var key: String

    @Option(help: "Only steps in A:B (inclusive; either side may be empty).")
    var steps: String?

    func run() throws {
        let store = try self.store.open()
        let id = try resolveRun(runReference, in: store)
        let reader = try store.openReader(id)
        guard reader.index.series(key) != nil else {
            throw ValidationError(
                "run \(id) has no metric \"\(key)\"; it has: \(reader.index.keys.joined(separator: ", "))")
        }
        var range = ScanRange.all
        if let steps { range.steps = try parseRange(steps) }
        print("step,timestamp,value")
        for point in try reader.scan(key, range: range) {
            print("\(point.step),\(point.timestamp),\(point.value)")
        }
    }

    private func parseRange(_ text: String) throws -> ClosedRange<Int64> {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ValidationError("--steps wants A:B, got \"\(text)\"") }
        guard let low = parts[0].isEmpty ? Int64.min : Int64(parts[0]),
            let high = parts[1].isEmpty ? Int64.max : Int64(parts[1]), low <= high
        else { throw ValidationError("--steps wants A:B with integers A ≤ B, got \"\(text)\"") }
        return low...high
    }
}
