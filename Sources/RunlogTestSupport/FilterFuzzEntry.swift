import Logging
import Runlog
import RunlogStore

/// The entry point of the filter-language fuzz target (`Sources/RunlogFuzz`) and of the test that
/// replays its corpus: arbitrary bytes as a filter, an order-by clause and a page token, searched
/// over a small store in memory. Every input must end in a page or a `RunlogError`.
package enum FilterFuzzEntry {
    static let store: TrackingStore? = {
        var options = StoreOptions()
        options.fileSystem = SimulatedDisk()
        options.durability = .never
        options.backgroundCompaction = false
        options.logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
        do {
            let store = try TrackingStore.open(at: "/fuzz", options: options)
            let experiment = try store.experiment(named: "fuzz")
            for (i, name) in ["alpha", "beta", "gamma"].enumerated() {
                let run = try store.startRun(
                    in: experiment, name: name, params: ["lr": "0.0\(i + 1)", "model": name],
                    tags: ["phase": i == 0 ? "train" : "eval"], captureEnvironment: false)
                for step in 0..<5 {
                    try run.log(["loss": 1 / Double(step + i + 1), "acc": Double(step) / 5], step: Int64(step))
                }
                try run.finish(i == 2 ? .failed : .finished)
            }
            return store
        } catch {
            return nil
        }
    }()

    /// Lines of the input: the filter, an order-by clause, a page token.
    package static func search(_ bytes: UnsafeRawBufferPointer) {
        guard let store else { return }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let filter = lines.first.map(String.init) ?? ""
        let orderBy = lines.count > 1 ? [String(lines[1])] : []
        let token = lines.count > 2 ? String(lines[2]) : nil
        _ = try? store.search(filter, orderBy: orderBy, maxResults: 2, pageToken: token)
        _ = try? store.search(filter, includeDeleted: true)
    }
}
