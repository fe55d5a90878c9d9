import Foundation
import RunlogReliability
import Testing

@testable import Runlog

@Suite struct DeletionTests {
    @Test func deletedRunsAreHiddenUntilRestored() throws {
        let f = try Fixture()
        try f.store.deleteRun(f.runs[0])
        #expect(!f.store.runs().map(\.id).contains(f.runs[0]))
        #expect(try !f.store.search("params.optimizer = 'adam'").runs.map(\.id).contains(f.runs[0]))
        #expect(
            try f.store.search("params.optimizer = 'adam'", includeDeleted: true).runs.map(\.id).contains(f.runs[0]))
        #expect(try f.store.run(f.runs[0]).lifecycle == .deleted)
        // Another process sees the deletion.
        #expect(try makeStore(f.directory).runs().count == 3)
        try f.store.restoreRun(f.runs[0])
        #expect(f.store.runs().count == 4)
        #expect(try f.store.run(f.runs[0]).lifecycle == .active)
    }

    @Test func deletingAnExperimentHidesItsRuns() throws {
        let f = try Fixture()
        try f.store.deleteExperiment(f.mnist.id)
        #expect(try f.store.experiments().map(\.name) == ["cifar"])
        #expect(try f.store.experiments(includeDeleted: true).count == 2)
        #expect(f.store.runs().map(\.name) == ["run3"])
        #expect(try makeStore(f.directory).runs().map(\.name) == ["run3"], "a fresh open agrees")
        #expect { try f.store.startRun(in: try f.store.experiment(id: f.mnist.id)!) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        try f.store.restoreExperiment(f.mnist.id)
        #expect(f.store.runs().count == 4)
    }

    @Test func gcRemovesDeletedRunsAndExperimentsForGood() throws {
        let f = try Fixture()
        let live = try f.store.startRun(in: f.cifar, name: "live", captureEnvironment: false)
        try live.log("x", 1)
        try f.store.deleteRun(f.runs[1])
        try f.store.deleteRun(live.id)  // deleting a run being written is allowed…
        try f.store.deleteExperiment(f.mnist.id)
        let result = try f.store.gc()
        // …but gc leaves it until its writer lets go.
        #expect(result.skipped.map(\.run) == [live.id])
        #expect(Set(result.removedRuns) == Set([f.runs[0], f.runs[1], f.runs[2]]))
        #expect(result.removedExperiments == [f.mnist.id])
        #expect(result.bytesFreed > 0)
        for run in result.removedRuns {
            #expect(!FileManager.default.fileExists(atPath: "\(f.directory.store)/runs/\(run)"))
        }
        #expect(f.store.runs(includeDeleted: true).map(\.name).sorted() == ["live", "run3"])
        // The name is free again: a new experiment gets a new id.
        #expect(try f.store.experiment(named: "mnist").id != f.mnist.id)
        try live.finish()
        let second = try f.store.gc()
        #expect(second.removedRuns == [live.id] && second.skipped.isEmpty)
        #expect(try makeStore(f.directory).runs(includeDeleted: true).map(\.name) == ["run3"])
    }
}
