import Logging

/// The store's background compaction: one thread, a queue of runs to look at. Runs are queued when
/// their writer closes; the policy decides whether each is worth compacting. `stop()` cancels the
/// compaction under way (its output is discarded; the run is untouched) and waits for the thread.
final class Compactor: Sendable {
    struct State {
        var queue: [RunID] = []
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
            if !s.stopping && !s.queue.contains(run) { s.queue.append(run) }
        }
        state.broadcast()
    }

    /// Waits until the queue is empty and nothing is being compacted (for tests and benchmarks).
    func waitUntilIdle() {
        state.withLock(waitingWhile: { !$0.queue.isEmpty && !$0.exited }) { _ in }
    }

    var reports: [CompactionReport] { state.withLock { $0.reports } }

    func stop() {
        state.withLock { s in
            s.stopping = true
            s.queue.removeAll()
        }
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
            let next = state.withLock(waitingWhile: { $0.queue.isEmpty && !$0.stopping }) { s -> RunID? in
                s.stopping ? nil : s.queue.first
            }
            guard let run = next else { break }
            let state = self.state
            let compaction = Compaction(
                fileSystem: fileSystem, directory: runsDirectory + "/" + run.description, runID: run, options: options,
                isCancelled: { state.withLock { $0.stopping } })
            var report: CompactionReport?
            do {
                report = try compaction.run(force: false)
            } catch {
                options.logger.warning("background compaction of run \(run) failed: \(error)")
            }
            state.withLock { s in
                if let report { s.reports.append(report) }
                s.queue.removeAll { $0 == run }
            }
            state.broadcast()
        }
        state.withLock { $0.exited = true }
        state.broadcast()
    }
}
