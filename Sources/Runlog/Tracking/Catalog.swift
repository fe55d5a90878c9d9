import Foundation
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
        var entries: [RunID: Entry] = [:] {
            didSet {
                generation &+= 1
                listings = nil
            }
        }
        /// Counts changes to `entries`.
        var generation = 0
        /// Every run's info newest first, all and active only: built on first use after a change,
        /// so listing or searching 10,000 runs does not copy and sort 10,000 infos each time.
        var listings: (all: RunListing, active: RunListing)?
        /// Runs that could not be read, and why.
        var unreadable: [RunID: StoreError] = [:]
        /// Experiments deleted: their runs show as deleted too.
        var deletedExperiments: Set<String> = []
    }

    let engine: Store
    let state = Mutex(State())

    init(engine: Store) {
        self.engine = engine
    }

    /// The run's info with its lifecycle: deleted when it has a tombstone or its experiment is deleted.
    private func info(_ id: RunID, _ reader: RunReader, deletedExperiments: Set<String>) -> RunInfo {
        var info = RunInfo(id: id, index: reader.index)
        info.lifecycle = lifecycle(id, experiment: info.experimentID, deletedExperiments)
        info.damage = reader.problems.filter(\.losesData)
        return info
    }

    private func lifecycle(_ id: RunID, experiment: String, _ deletedExperiments: Set<String>) -> Lifecycle {
        engine.isDeleted(id) || deletedExperiments.contains(experiment) ? .deleted : .active
    }

    /// What a run's summary depends on, counted: a log only grows (compaction rewrites blocks,
    /// never what they hold), so an equal signature means an equal `RunInfo`.
    static func signature(_ index: RunIndex) -> (records: Int, series: Int, points: Int) {
        (index.records.count, index.series.count, index.series.values.reduce(0) { $0 + ($1.summary?.count ?? 0) })
    }

    /// Marks an experiment deleted or restored, and its runs with it.
    func setExperiment(_ id: String, deleted: Bool) {
        state.withLock { s in
            if deleted { s.deletedExperiments.insert(id) } else { s.deletedExperiments.remove(id) }
            for (run, entry) in s.entries where entry.info.experimentID == id {
                s.entries[run]!.info.lifecycle = deleted || engine.isDeleted(run) ? .deleted : .active
            }
        }
    }

    /// Reads new runs and what known runs appended since the last refresh.
    func refresh(deletedExperiments: Set<String>) throws(RunlogError) {
        let ids = try storage("listing the runs of \(engine.path)") { () throws(StoreError) in try engine.runs() }
        let (known, generation) = state.withLock { ($0.entries, $0.generation) }
        // Runs are independent: read them on every core.
        let workers = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, ids.count / 64))
        let results = Mutex<(updated: [RunID: Entry], unreadable: [RunID: StoreError], changed: Bool)>(
            ([:], [:], false))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var updated: [RunID: Entry] = [:]
            var unreadable: [RunID: StoreError] = [:]
            var changed = false
            for id in stride(from: worker, to: ids.count, by: workers).map({ ids[$0] }) {
                do throws(StoreError) {
                    if let entry = known[id] {
                        let before = Self.signature(entry.reader.index)
                        try entry.reader.refresh()
                        if Self.signature(entry.reader.index) == before {
                            // Nothing appended: the summary stands; only the lifecycle may change.
                            var info = entry.info
                            info.lifecycle = lifecycle(id, experiment: info.experimentID, deletedExperiments)
                            info.damage = entry.reader.problems.filter(\.losesData)
                            changed =
                                changed || info.lifecycle != entry.info.lifecycle || info.damage != entry.info.damage
                            updated[id] = Entry(reader: entry.reader, info: info)
                        } else {
                            changed = true
                            updated[id] = Entry(
                                reader: entry.reader,
                                info: info(id, entry.reader, deletedExperiments: deletedExperiments))
                        }
                    } else {
                        changed = true
                        let reader = try engine.openReader(id)
                        updated[id] = Entry(
                            reader: reader, info: info(id, reader, deletedExperiments: deletedExperiments))
                    }
                } catch {
                    unreadable[id] = error
                }
            }
            results.withLock {
                $0.updated.merge(updated) { a, _ in a }
                $0.unreadable.merge(unreadable) { a, _ in a }
                $0.changed = $0.changed || changed
            }
        }
        let (updated, unreadable, changed) = results.withLock { $0 }
        state.withLock { s in
            // Same runs, none of them changed, and no other change since `known` was taken: the
            // listings stand.
            let listings = !changed && updated.count == known.count && s.generation == generation ? s.listings : nil
            s = State(entries: updated, unreadable: unreadable, deletedExperiments: deletedExperiments)
            s.listings = listings
        }
    }

    /// Reads one run (new, or appended to) without touching the others.
    func refresh(_ id: RunID) throws(RunlogError) {
        let (existing, deletedExperiments) = state.withLock { ($0.entries[id]?.reader, $0.deletedExperiments) }
        let entry = try storage("reading run \(id)") { () throws(StoreError) -> Entry in
            let reader: RunReader
            if let existing {
                reader = existing
                try reader.refresh()
            } else {
                reader = try engine.openReader(id)
            }
            return Entry(reader: reader, info: info(id, reader, deletedExperiments: deletedExperiments))
        }
        state.withLock { $0.entries[id] = entry }
    }

    /// Every run's info (deleted ones too when `includeDeleted`), newest first (`RunOrder`).
    func listing(includeDeleted: Bool) -> RunListing {
        state.withLock { s in
            if s.listings == nil {
                let all = RunOrder.newestFirst(s.entries.values.map(\.info))
                s.listings = (RunListing(all), RunListing(all.filter { $0.lifecycle == .active }))
            }
            return includeDeleted ? s.listings!.all : s.listings!.active
        }
    }

    /// Runs whose log could not be opened at the last refresh, and why.
    var unreadable: [RunID: StoreError] { state.withLock { $0.unreadable } }

    /// Forgets a run whose files are gone.
    func remove(_ id: RunID) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    func entry(_ id: RunID) throws(RunlogError) -> Entry {
        guard let entry = state.withLock({ $0.entries[id] }) else { throw RunlogError(.notFound, "no run \(id)") }
        return entry
    }
}
