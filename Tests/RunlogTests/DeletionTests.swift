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

    @Test func anOpenStoreSeesAnotherProcessDeleteAndRestoreOnRefresh() throws {
        // The refresh learns of the tombstone from the listing of the run it makes anyway.
        let f = try Fixture()
        let other = try makeStore(f.directory)
        #expect(other.runs().count == 4)
        try f.store.deleteRun(f.runs[2])
        #expect(other.runs().count == 4, "not refreshed yet")
        try other.refresh()
        #expect(other.runs().map(\.id).sorted() == [f.runs[0], f.runs[1], f.runs[3]].sorted())
        #expect(try other.run(f.runs[2]).lifecycle == .deleted)
        try f.store.restoreRun(f.runs[2])
        try other.refresh()
        #expect(other.runs().count == 4)
        #expect(try other.run(f.runs[2]).lifecycle == .active)
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

    /// `gc(deletedBefore:)` goes by the time recorded in the tombstone (or the experiment's
    /// deletion), keeps what was deleted later or at no recorded time, and a dry run removes
    /// nothing; a tombstone's bytes are untrusted.
    @Test func gcByDeletionTimeAndDryRun() throws {
        let f = try Fixture()
        let live = try f.store.startRun(in: f.cifar, name: "live", captureEnvironment: false)
        try f.store.deleteRun(f.runs[3])
        try f.store.deleteRun(live.id)
        let deleted = try #require(f.store.engine.deletionTime(f.runs[3]))
        #expect(abs(deleted - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
        try f.store.deleteRun(f.runs[3])
        #expect(f.store.engine.deletionTime(f.runs[3]) == deleted, "deleting again keeps the first time")
        #expect(f.store.engine.deletionTime(f.runs[0]) == nil, "not deleted")

        let before = try f.store.gc(deletedBefore: deleted - 1)
        #expect(before.removedRuns.isEmpty && Set(before.skipped.map(\.run)) == [f.runs[3], live.id])
        let dry = try f.store.gc(deletedBefore: deleted + 1, dryRun: true)
        #expect(dry.removedRuns == [f.runs[3]] && dry.skipped.map(\.run) == [live.id] && dry.bytesFreed > 0)
        #expect(f.store.runs(includeDeleted: true).count == 5, "a dry run removes nothing")
        #expect(f.store.engine.isBeingWritten(live.id) && !f.store.engine.isBeingWritten(f.runs[3]))

        // Empty (an older Runlog), garbled or huge tombstones hold no time: kept by deletedBefore.
        let tombstone = "\(f.directory.store)/runs/\(f.runs[3])/DELETED"
        for bytes in [
            Data(), Data("12x\n".utf8), Data(repeating: 0x39, count: 1 << 20), Data("99999999999999999999\n".utf8),
        ] {
            try bytes.write(to: URL(fileURLWithPath: tombstone))
            #expect(f.store.engine.deletionTime(f.runs[3]) == nil)
            #expect(f.store.engine.isDeleted(f.runs[3]))
        }
        let unknown = try f.store.gc(deletedBefore: .max)
        #expect(unknown.removedRuns.isEmpty)
        #expect(unknown.skipped.first { $0.run == f.runs[3] }?.reason.contains("not recorded") == true)
        try live.finish()
        let all = try f.store.gc()
        #expect(Set(all.removedRuns) == [f.runs[3], live.id])
    }
}
