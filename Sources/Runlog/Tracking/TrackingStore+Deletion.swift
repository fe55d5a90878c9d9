import RunlogStore

/// What `gc()` removed for good.
public struct GarbageCollection: Sendable {
    public var removedRuns: [RunID] = []
    public var removedExperiments: [String] = []
    public var bytesFreed: Int64 = 0
    /// Deleted runs left in place, and why (a writer still holds them).
    public var skipped: [(run: RunID, reason: String)] = []
}

extension TrackingStore {
    /// Soft-deletes a run, as MLflow does: it disappears from default listings and searches and
    /// keeps all its data until `gc()`. Works while another process writes the run.
    public func deleteRun(_ id: RunID) throws(RunlogError) {
        try storage("deleting run \(id)") { () throws(StoreError) in try engine.deleteRun(id) }
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
    public func gc() throws(RunlogError) -> GarbageCollection {
        try refresh()
        var result = GarbageCollection()
        let deletedExperiments = Set(try experimentFiles.all().filter { $0.lifecycle == .deleted }.map(\.id))
        var blocked: Set<String> = []
        for run in runs(includeDeleted: true) where run.lifecycle == .deleted {
            do throws(StoreError) {
                let bytes = try engine.diskUsage(run.id)
                try engine.removeRun(run.id)
                catalog.remove(run.id)
                result.removedRuns.append(run.id)
                result.bytesFreed += bytes
            } catch  where error.code == .locked {
                result.skipped.append((run.id, error.message))
                blocked.insert(run.experimentID)
            } catch {
                throw RunlogError.storage("removing run \(run.id)", error)
            }
            if result.removedRuns.last == run.id { try ArtifactFiles.removeTree(artifactDirectory(of: run.id)) }
        }
        for id in deletedExperiments.sorted() where !blocked.contains(id) {
            try experimentFiles.remove(id)
            result.removedExperiments.append(id)
        }
        return result
    }
}
