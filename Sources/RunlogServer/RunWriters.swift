import Foundation
import Logging
import Runlog
import Synchronization

/// The runs this server writes, each held open between requests and released when idle, so a
/// thousand RUNNING runs do not hold a thousand writer threads and file handles. At most
/// `maxOpen` writers stay open: opening one more first closes the least recently used idle ones.
///
/// Two locks: `entries` is held only to look up and count uses (every request); `lifecycle`
/// serialises opening and closing writers, so a run is never opened while its previous writer is
/// still closing.
final class RunWriters: Sendable {
    private struct Entry {
        let run: ActiveRun
        var users = 0
        var lastUse: ContinuousClock.Instant
    }

    private let store: TrackingStore
    private let entries = Mutex<[RunID: Entry]>([:])
    private let lifecycle = Mutex<Void>(())
    private let logger: Logger
    let maxOpen: Int

    init(store: TrackingStore, logger: Logger, maxOpen: Int) {
        self.store = store
        self.logger = logger
        self.maxOpen = max(1, maxOpen)
    }

    /// Runs `body` with the writer of `id`, opening it when it is not open.
    func with<T>(_ id: RunID, _ body: (ActiveRun) throws(RunlogError) -> T) throws(RunlogError) -> T {
        let run = try acquire(id)
        defer { release(id) }
        return try body(run)
    }

    /// Registers a writer this server just started.
    func adopt(_ run: ActiveRun) {
        lifecycle.withLock { _ in
            makeRoom()
            entries.withLock { $0[run.id] = Entry(run: run, lastUse: .now) }
        }
    }

    var openCount: Int { entries.withLock { $0.count } }

    private func acquire(_ id: RunID) throws(RunlogError) -> ActiveRun {
        if let run = checkOut(id) { return run }
        return try lifecycle.withLock { (_) throws(RunlogError) -> ActiveRun in
            if let run = checkOut(id) { return run }  // opened while this request waited
            makeRoom()
            let run = try store.resumeRun(id)
            entries.withLock { $0[id] = Entry(run: run, users: 1, lastUse: .now) }
            return run
        }
    }

    /// Closes the least recently used idle writers until one more fits under `maxOpen` (writers
    /// in use stay open, so the bound can be passed while more than `maxOpen` requests write at
    /// once). Called with `lifecycle` held.
    private func makeRoom() {
        let evicted = entries.withLock { e -> [ActiveRun] in
            let excess = e.count + 1 - maxOpen
            guard excess > 0 else { return [] }
            let idle = e.filter { $0.value.users == 0 }.sorted { $0.value.lastUse < $1.value.lastUse }
            return idle.prefix(excess).compactMap { e.removeValue(forKey: $0.key)?.run }
        }
        for run in evicted { close(run) }
    }

    /// The open writer of `id`, counted as in use; nil when it is not open.
    private func checkOut(_ id: RunID) -> ActiveRun? {
        entries.withLock { e in
            guard e[id] != nil else { return nil }
            e[id]!.users += 1
            return e[id]!.run
        }
    }

    private func release(_ id: RunID) {
        entries.withLock { e in
            e[id]?.users -= 1
            e[id]?.lastUse = .now
        }
    }

    /// Closes the writers no request has used for `idle`; returns how many.
    @discardableResult
    func closeIdle(_ idle: Duration) -> Int {
        lifecycle.withLock { _ in
            let now = ContinuousClock.now
            let idleRuns = entries.withLock { e -> [ActiveRun] in
                let ids = e.filter { $0.value.users == 0 && now - $0.value.lastUse >= idle }.map(\.key)
                return ids.compactMap { e.removeValue(forKey: $0)?.run }
            }
            for run in idleRuns { close(run) }
            return idleRuns.count
        }
    }

    /// Closes every writer (shutdown): each flushes and releases its run.
    func closeAll() {
        lifecycle.withLock { _ in
            let all = entries.withLock { e -> [ActiveRun] in
                defer { e.removeAll() }
                return e.values.map(\.run)
            }
            for run in all { close(run) }
        }
    }

    private func close(_ run: ActiveRun) {
        do {
            try run.close()
        } catch {
            logger.error("closing the writer of run \(run.id) failed: \(error)")
        }
    }
}

extension RunWriters {
    func isOpen(_ id: RunID) -> Bool { entries.withLock { $0[id] != nil } }
}
