import Foundation
import Runlog
import RunlogReliability
import RunlogStore
import Testing

/// A query of a damaged run never quietly returns a series with a hole: it refuses the run with
/// the problems (file and offset), or answers with what is left when the caller allows it.
@Suite struct DamageTests {
    @Test func aHoleIsRefusedByDefaultAndReportedWhenAllowed() throws {
        let directory = TemporaryDirectory()
        let (id, middle) = try DamagedRun.make(at: directory.store, keepSnapshot: false)
        let store = try TrackingStore.open(at: directory.store)
        let damage = try store.damage(of: id)
        try #require(!damage.isEmpty)
        #expect(damage.allSatisfy { $0.location.file.hasSuffix(middle.split(separator: "/").last.map(String.init)!) })
        #expect(store.runs().first { $0.id == id }?.damage == damage)
        // The default: a .damaged error naming the file and the offset.
        do {
            _ = try store.history(of: id, "loss")
            Issue.record("a damaged run's history was returned")
        } catch {
            #expect(error.code == .damaged)
            #expect(error.damage?.problems == damage)
            #expect(error.message.contains(String(middle.split(separator: "/").last!)))
            #expect(error.message.contains("offset"))
        }
        #expect(throws: RunlogError.self) { try store.downsample(id, "loss", buckets: 10) }
        #expect(throws: RunlogError.self) { try store.sample(id, "loss", maxPoints: 100) }
        #expect(throws: RunlogError.self) { try store.compare([id], histories: ["loss"]) }
        var chunked = 0
        #expect(throws: RunlogError.self) { try store.history(of: id, "loss") { chunked += $0.count } }
        #expect(chunked == 0)
        // Allowed: what is left, a hole where the skipped record was, every point one that was logged.
        let left = try store.history(of: id, "loss", allowDamaged: true)
        #expect(left.count < 20_000 && left.count > 10_000)
        #expect(left.allSatisfy { $0.value == DamagedRun.value($0.step) && $0.timestamp == 1_000 + $0.step })
        #expect(
            try store.downsample(id, "loss", buckets: 10, allowDamaged: true).reduce(0) { $0 + $1.count } == left.count)
    }

    @Test func withAnIndexSnapshotTheDamageIsNeverSilentEither() throws {
        let directory = TemporaryDirectory()
        let (id, _) = try DamagedRun.make(at: directory.store, keepSnapshot: true)
        let store = try TrackingStore.open(at: directory.store)
        // Either the snapshot was refused and the log read (the damage is listed), or the scan
        // reads the damaged block and fails; never fewer points without a word.
        do {
            let points = try store.history(of: id, "loss")
            #expect(points.count == 20_000, "a history with a hole and no error")
        } catch {
            #expect(error.code == .damaged || error.code == .storage, "\(error)")
        }
    }

    @Test func aWholeRunHasNoDamage() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "e"))
        try run.log(try run.metric("loss"), 1, step: 0)
        try run.finish()
        #expect(try store.damage(of: run.id).isEmpty)
        #expect(store.unreadableRuns.isEmpty)
        #expect(try store.history(of: run.id, "loss").count == 1)
    }
}
