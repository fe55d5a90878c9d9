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
        /// Every run read, by id: changed through `set`, which keeps the listings up to date.
        private(set) var entries: [RunID: Entry]
        /// Counts changes to `entries`.
        private(set) var generation: Int
        /// Every run's info newest first, all and active only, as of `stale` being empty: built by
        /// a refresh of every run that found changes, or on first use, so listing or searching
        /// 10,000 runs does not copy and sort 10,000 infos each time.
        private var listings: (all: RunListing, active: RunListing)?
        /// Runs changed since `listings` were brought up to date, each with its info as they
        /// list it (nil: a run they do not hold). The next listing merges just these in.
        private var stale: [RunID: RunInfo?] = [:]
        /// Runs that could not be read, and why.
        var unreadable: [RunID: StoreError]
        /// Experiments deleted: their runs show as deleted too.
        var deletedExperiments: Set<String>

        init(
            entries: [RunID: Entry] = [:], generation: Int = 0,
            listings: (all: RunListing, active: RunListing)? = nil,
            unreadable: [RunID: StoreError] = [:], deletedExperiments: Set<String> = []
        ) {
            self.entries = entries
            self.generation = generation
            self.listings = listings
            self.unreadable = unreadable
            self.deletedExperiments = deletedExperiments
        }

        /// Records a run's entry (nil: the run is gone).
        mutating func set(_ id: RunID, _ entry: Entry?) {
            let before = entry.map { entries.updateValue($0, forKey: id) } ?? entries.removeValue(forKey: id)
            generation &+= 1
            guard listings != nil else { return }
            if stale.index(forKey: id) == nil { stale[id] = .some(before?.info) }
            // Past an eighth of the runs, sorting them all again costs about what merging does.
            if stale.count > Swift.max(64, entries.count / 8) { (listings, stale) = (nil, [:]) }
        }

        /// The listings, with what changed since they were made merged in.
        mutating func currentListings() -> (all: RunListing, active: RunListing) {
            if let listings, stale.isEmpty { return listings }
            guard let listings else {
                let built = Catalog.listings(of: entries)
                self.listings = built
                return built
            }
            var dropped: (all: [Int], active: [Int]) = ([], [])
            var added: [RunInfo] = []
            for (id, listed) in stale {
                if let listed {
                    let key = RunOrder.key(listed)
                    if let position = listings.all.position(of: key) { dropped.all.append(position) }
                    if listed.lifecycle == .active, let position = listings.active.position(of: key) {
                        dropped.active.append(position)
                    }
                }
                if let info = entries[id]?.info { added.append(info) }
            }
            added = RunOrder.newestFirst(added)
            let merged = (
                all: listings.all.merging(dropping: dropped.all.sorted(), adding: added),
                active: listings.active.merging(
                    dropping: dropped.active.sorted(), adding: added.filter { $0.lifecycle == .active })
            )
            (self.listings, stale) = (merged, [:])
            return merged
        }
    }

    let engine: Store
    let state = Mutex(State())

    init(engine: Store) {
        self.engine = engine
    }

    /// The run's info with its lifecycle: deleted when it has a tombstone or its experiment is deleted.
    private func info(_ id: RunID, _ reader: RunReader, deletedExperiments: Set<String>) -> RunInfo {
        var info = RunInfo(id: id, index: reader.index)
        info.lifecycle = lifecycle(reader, experiment: info.experimentID, deletedExperiments)
        info.damage = reader.problems.filter(\.losesData)
        return info
    }

    /// The lifecycle of a run whose reader was just opened or refreshed, which saw its tombstone if any.
    private func lifecycle(_ reader: RunReader, experiment: String, _ deletedExperiments: Set<String>) -> Lifecycle {
        reader.isDeleted || deletedExperiments.contains(experiment) ? .deleted : .active
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
                var changed = entry
                changed.info.lifecycle = deleted || engine.isDeleted(run) ? .deleted : .active
                s.set(run, changed)
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
                            info.lifecycle = lifecycle(
                                entry.reader, experiment: info.experimentID, deletedExperiments)
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
        // Same runs and none of them changed: the listings stand. Otherwise they are built here,
        // outside the lock, so the first listing after open (or after a refresh that found
        // changes) is ready rather than sorted by whoever asks first.
        let unchanged = !changed && updated.count == known.count
        let built = unchanged ? nil : Self.listings(of: updated)
        state.withLock { s in
            if unchanged && s.generation == generation {
                // The same entries (and no change since `known` was taken): the listings stand.
                (s.unreadable, s.deletedExperiments) = (unreadable, deletedExperiments)
                return
            }
            // Built from `updated` unless a run was refreshed meanwhile (`updated` replaces it
            // too): then on first use.
            s = State(
                entries: updated, generation: s.generation &+ 1, listings: unchanged ? nil : built,
                unreadable: unreadable, deletedExperiments: deletedExperiments)
        }
    }

    /// Every run's info newest first, all and active only.
    fileprivate static func listings(of entries: [RunID: Entry]) -> (all: RunListing, active: RunListing) {
        let all = RunOrder.newestFirst(entries.values.map(\.info))
        return (RunListing(all), RunListing(all.filter { $0.lifecycle == .active }))
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
        state.withLock { $0.set(id, entry) }
    }

    /// Every run's info (deleted ones too when `includeDeleted`), newest first (`RunOrder`).
    func listing(includeDeleted: Bool) -> RunListing {
        state.withLock { s in
            let listings = s.currentListings()
            return includeDeleted ? listings.all : listings.active
        }
    }

    /// Runs whose log could not be opened at the last refresh, and why.
    var unreadable: [RunID: StoreError] { state.withLock { $0.unreadable } }

    /// Forgets a run whose files are gone.
    func remove(_ id: RunID) {
        state.withLock { $0.set(id, nil) }
    }

    func entry(_ id: RunID) throws(RunlogError) -> Entry {
        guard let entry = state.withLock({ $0.entries[id] }) else { throw RunlogError(.notFound, "no run \(id)") }
        return entry
    }
}
