import ArgumentParser
import Runlog

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the runs of the store with their series and points.")

    @OptionGroup var store: StoreOptionsGroup

    func run() throws {
        let store = try self.store.open()
        print(pad("run", 34) + pad("series", 8) + pad("points", 12) + "status")
        for id in try store.runs() {
            let index = try store.openReader(id).index
            let points = index.series.values.reduce(0) { $0 + ($1.summary?.count ?? 0) }
            let status = index.records.reversed().lazy.compactMap { record -> RunStatus? in
                if case .status(let status, _) = record { return status } else { return nil }
            }.first
            print(
                pad(id.description, 34) + pad("\(index.series.count)", 8) + pad("\(points)", 12)
                    + (status?.description ?? "-"))
        }
    }
}
