import Logging

/// The store's background compaction: one thread, a queue of work. Runs are queued when their
/// writer closes, and the policy decides whether each is worth compacting; a writer that flushes
/// often queues live compactions of what it has finished with (`LiveCompaction`). `stop()` cancels
/// the compaction under way (its output is discarded; the run is untouched) and waits for the thread.
final class Compactor: Sendable {
    enum Job: Sendable {
        case closed(RunID)
        case live(LiveCompaction)

        func isClosed(_ run: RunID) -> Bool {
            if case .closed(let id) = self { id == run } else { false }
        }
    }

    struct State {
        var queue: [Job] = []
        var stopping = false
        var exited = false
        var reports: [CompactionReport] = []
    }

    let state = ConditionLock(State())
    let fileSystem: any FileSystem
    let runsDirectory: String
    let options: StoreOptions

    init(fileSystem: any FileSystem, runsDirectory: String, options: StoreOptions) throws(StoreError) {
        self.fileSystem = fileSystem
        self.runsDirectory = runsDirectory
        self.options = options
        let state = self.state
        let worker = CompactorWorker(
            state: state, fileSystem: fileSystem, runsDirectory: runsDirectory, options: options)
        try startThread { worker.run() }
    }

    func schedule(_ run: RunID) {
        state.withLock { s in
            if !s.stopping && !s.queue.contains(where: { $0.isClosed(run) }) { s.queue.append(.closed(run)) }
        }
        state.broadcast()
    }

    /// Queues a live compaction; when the compactor is stopping, drops it (the writer may start
    /// another, which is dropped too).
    func schedule(_ live: LiveCompaction) {
        let queued = state.withLock { s in
            if !s.stopping { s.queue.append(.live(live)) }
            return !s.stopping
        }
        if queued { state.broadcast() } else { live.finish() }
    }

    /// Waits until the queue is empty and nothing is being compacted (for tests and benchmarks).
    func waitUntilIdle() {
        state.withLock(waitingWhile: { !$0.queue.isEmpty && !$0.exited }) { _ in }
    }

    var reports: [CompactionReport] { state.withLock { $0.reports } }

    func stop() {
        let dropped = state.withLock { s in
            s.stopping = true
            defer { s.queue.removeAll() }
            return s.queue  // a live job under way lets its writer go on too: finishing twice is harmless
        }
        for case .live(let live) in dropped { live.finish() }
        state.broadcast()
        state.withLock(waitingWhile: { !$0.exited }) { _ in }
    }
}

private struct CompactorWorker: Sendable {
    let state: ConditionLock<Compactor.State>
    let fileSystem: any FileSystem
    let runsDirectory: String
    let options: StoreOptions

    func run() {
        while true {
            let next = state.withLock(waitingWhile: { $0.queue.isEmpty && !$0.stopping }) { s -> Compactor.Job? in
                s.stopping ? nil : s.queue.first
            }
            guard let job = next else { break }
            let state = self.state
            let isCancelled: @Sendable () -> Bool = { state.withLock { $0.stopping } }
            var report: CompactionReport?
            switch job {
            case .closed(let run):
                let compaction = Compaction(
                    fileSystem: fileSystem, directory: runsDirectory + "/" + run.description, runID: run,
                    options: options, isCancelled: isCancelled)
                do {
                    report = try compaction.run(force: false)
                } catch {
                    options.logger.warning("background compaction of run \(run) failed: \(error)")
                }
            case .live(let live):
                report = live.run(isCancelled: isCancelled)
            }
            state.withLock { s in
                if let report { s.reports.append(report) }
                if !s.queue.isEmpty { s.queue.removeFirst() }
            }
            state.broadcast()
        }
        state.withLock { $0.exited = true }
        state.broadcast()
    }
}
