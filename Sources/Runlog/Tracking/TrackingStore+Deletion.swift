import RunlogStore

/// What `gc()` removed for good.
public struct GarbageCollection: Sendable {
    public var removedRuns: [RunID] = []
    public var removedExperiments: [String] = []
    public var bytesFreed: Int64 = 0
    /// Deleted runs left in place, and why (a writer still holds them, or they were deleted too
    /// recently for `deletedBefore`).
    public var skipped: [(run: RunID, reason: String)] = []
    /// Deleted experiments left in place (besides those with runs left), and why.
    public var keptExperiments: [(experiment: String, reason: String)] = []
}

extension TrackingStore {
    /// Soft-deletes a run, as MLflow does: it disappears from default listings and searches and
    /// keeps all its data until `gc()`. Works while another process writes the run.
    public func deleteRun(_ id: RunID) throws(RunlogError) {
        try storage("deleting run \(id)") { () throws(StoreError) in
            try engine.deleteRun(id, at: currentTimeMilliseconds())
        }
        try catalog.refresh(id)
    }

    public func restoreRun(_ id: RunID) throws(RunlogError) {
        try storage("restoring run \(id)") { () throws(StoreError) in try engine.restoreRun(id) }
        try catalog.refresh(id)
    }

    /// Soft-deletes an experiment; its runs are hidden with it. Restoring brings both back.
    @discardableResult
    public func deleteExperiment(_ id: String) throws(RunlogError) -> Experiment {
        let experiment = try experimentFiles.update(id) { $0.lifecycle = .deleted }
        catalog.setExperiment(id, deleted: true)
        return experiment
    }

    @discardableResult
    public func restoreExperiment(_ id: String) throws(RunlogError) -> Experiment {
        let experiment = try experimentFiles.update(id) { $0.lifecycle = .active }
        catalog.setExperiment(id, deleted: false)
        return experiment
    }

    /// Permanently removes deleted runs, the runs of deleted experiments, and deleted experiments
    /// (freeing their names), as `mlflow gc` does, with their artifacts. Runs a writer still holds
    /// are skipped and named.
    ///
    /// - `deletedBefore` (ms since the epoch) keeps whatever was deleted later (`gc --older-than`):
    ///   a run goes by its deletion time (or its experiment's, if that was deleted first), an
    ///   experiment by its last update. One whose deletion time is not recorded (a run deleted by
    ///   an older Runlog) is kept and named, since nothing says it is old enough.
    /// - `dryRun` removes nothing and answers what would go (a run held by a writer now is named
    ///   as skipped, as it would be).
    public func gc(deletedBefore cutoff: Int64? = nil, dryRun: Bool = false) throws(RunlogError) -> GarbageCollection {
        try refresh()
        var result = GarbageCollection()
        let experiments = try experimentFiles.all()
        let deletedExperiments = Dictionary(
            experiments.filter { $0.lifecycle == .deleted }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var blocked: Set<String> = []
        for run in runs(includeDeleted: true) where run.lifecycle == .deleted {
            if let cutoff {
                let times = [engine.deletionTime(run.id), deletedExperiments[run.experimentID]?.lastUpdateTime]
                guard let deleted = times.compactMap({ $0 }).min() else {
                    result.skipped.append(
                        (run.id, "its deletion time is not recorded (gc without --older-than removes it)"))
                    blocked.insert(run.experimentID)
                    continue
                }
                guard deleted <= cutoff else {
                    result.skipped.append((run.id, "deleted too recently"))
                    blocked.insert(run.experimentID)
                    continue
                }
            }
            do throws(StoreError) {
                let bytes = try engine.diskUsage(run.id)
                if dryRun {
                    if engine.isBeingWritten(run.id) {
                        throw StoreError(.locked, "run \(run.id) is being written; it cannot be removed now")
                    }
                } else {
                    try engine.removeRun(run.id)
                    catalog.remove(run.id)
                }
                result.removedRuns.append(run.id)
                result.bytesFreed += bytes
            } catch  where error.code == .locked {
                result.skipped.append((run.id, error.message))
                blocked.insert(run.experimentID)
            } catch {
                throw RunlogError.storage("removing run \(run.id)", error)
            }
            if !dryRun && result.removedRuns.last == run.id {
                try ArtifactFiles.removeTree(artifactDirectory(of: run.id))
            }
        }
        for (id, experiment) in deletedExperiments.sorted(by: { $0.key < $1.key }) where !blocked.contains(id) {
            if let cutoff {
                guard let updated = experiment.lastUpdateTime else {
                    result.keptExperiments.append(
                        (id, "its deletion time is not recorded (gc without --older-than removes it)"))
                    continue
                }
                guard updated <= cutoff else {
                    result.keptExperiments.append((id, "deleted too recently"))
                    continue
                }
            }
            if !dryRun { try experimentFiles.remove(id) }
            result.removedExperiments.append(id)
        }
        return result
    }
}
