import RunlogStore
import Synchronization

/// Every run of a store, as of the last refresh: a reader per run (for scans) and the `RunInfo`
/// derived from its index (for listings and search).
final class Catalog: Sendable {
    struct Entry: Sendable {
        let reader: RunReader
        var info: RunInfo
    }

    struct State: Sendable {
        var entries: [RunID: Entry] = [:]
        /// Runs that could not be read, and why.
        var unreadable: [RunID: StoreError] = [:]
    }

    let engine: Store
    let state = Mutex(State())

    init(engine: Store) {
        self.engine = engine
    }

    /// Reads new runs and what known runs appended since the last refresh.
    func refresh() throws(RunlogError) {
        let ids = try storage("listing the runs of \(engine.path)") { () throws(StoreError) in try engine.runs() }
        let known = state.withLock { $0.entries }
        var updated: [RunID: Entry] = [:]
        var unreadable: [RunID: StoreError] = [:]
        for id in ids {
            do throws(StoreError) {
                if let entry = known[id] {
                    try entry.reader.refresh()
                    updated[id] = Entry(reader: entry.reader, info: RunInfo(id: id, index: entry.reader.index))
                } else {
                    let reader = try engine.openReader(id)
                    updated[id] = Entry(reader: reader, info: RunInfo(id: id, index: reader.index))
                }
            } catch {
                unreadable[id] = error
            }
        }
        state.withLock { $0 = State(entries: updated, unreadable: unreadable) }
    }

    /// Reads one run (new, or appended to) without touching the others.
    func refresh(_ id: RunID) throws(RunlogError) {
        let existing = state.withLock { $0.entries[id]?.reader }
        let entry = try storage("reading run \(id)") { () throws(StoreError) -> Entry in
            let reader: RunReader
            if let existing {
                reader = existing
                try reader.refresh()
            } else {
                reader = try engine.openReader(id)
            }
            return Entry(reader: reader, info: RunInfo(id: id, index: reader.index))
        }
        state.withLock { $0.entries[id] = entry }
    }

    var infos: [RunInfo] { state.withLock { $0.entries.values.map(\.info) } }

    func entry(_ id: RunID) throws(RunlogError) -> Entry {
        guard let entry = state.withLock({ $0.entries[id] }) else { throw RunlogError(.notFound, "no run \(id)") }
        return entry
    }
}
