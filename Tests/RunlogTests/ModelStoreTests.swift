import Foundation
import Runlog
import RunlogReliability
import Testing

/// The model journal (`<store>/models/JOURNAL`): what it keeps across a reopen, a torn tail, damage,
/// and two processes' writers.
@Suite struct ModelStoreTests {
    private func journal(_ directory: TemporaryDirectory) -> String { directory.store + "/models/JOURNAL" }

    @Test func everyChangeIsReadBackAfterAReopen() throws {
        let directory = TemporaryDirectory()
        let models = try ModelStore(storePath: directory.store)
        let model = try models.createLoggedModel(
            experimentID: "0", name: "m", modelType: nil, sourceRunID: nil, params: ["p": "1"], tags: [:])
        _ = try models.finalizeLoggedModel(model.id, status: .ready)
        _ = try models.createRegisteredModel("churn model", description: nil, tags: ["t": "v"])
        _ = try models.createVersion(
            of: "churn model", source: "models:/\(model.id)", runID: nil, modelID: model.id, description: nil,
            tags: [:], runLink: nil)
        try models.setAlias("champion", of: "churn model", to: 1)
        try models.linkMetrics(
            [LoggedModelMetric(key: "nan", value: .nan, timestamp: 1, step: 0, runID: nil)], to: model.id)

        let reopened = try ModelStore(storePath: directory.store)
        let read = try reopened.loggedModel(model.id)
        #expect(read.status == .ready && read.params == ["p": "1"])
        #expect(read.metrics.first?.value.isNaN == true)
        #expect(try reopened.version("churn model", alias: "champion").modelID == model.id)
        #expect(try reopened.registeredModel("churn model").tags == ["t": "v"])
        #expect(reopened.damage == nil)
    }

    @Test func aTornTailIsIgnoredThenTruncatedByTheNextWrite() throws {
        let directory = TemporaryDirectory()
        let models = try ModelStore(storePath: directory.store)
        _ = try models.createRegisteredModel("a", description: nil, tags: [:])
        let whole = try Data(contentsOf: URL(fileURLWithPath: journal(directory)))
        // A record cut short: its length says 200 bytes, 10 follow.
        var torn = whole
        torn.append(contentsOf: [200, 0, 0, 0, 1, 2, 3, 4] + [UInt8](repeating: 7, count: 10))
        try torn.write(to: URL(fileURLWithPath: journal(directory)))

        let reopened = try ModelStore(storePath: directory.store)
        #expect(reopened.damage == nil)
        #expect(reopened.allRegisteredModels().map(\.name) == ["a"])
        _ = try reopened.createRegisteredModel("b", description: nil, tags: [:])
        let after = try ModelStore(storePath: directory.store)
        #expect(after.allRegisteredModels().map(\.name).sorted() == ["a", "b"])
        let size = try FileManager.default.attributesOfItem(atPath: journal(directory))[.size] as! Int
        #expect(size > whole.count && size < torn.count + 200, "the tail was replaced, not kept")
    }

    @Test func aDamagedRecordStopsReadingAndRefusesWrites() throws {
        let directory = TemporaryDirectory()
        let models = try ModelStore(storePath: directory.store)
        _ = try models.createRegisteredModel("a", description: nil, tags: [:])
        _ = try models.createRegisteredModel("b", description: nil, tags: [:])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: journal(directory))))
        bytes[16 + 8 + 2] ^= 0xFF  // inside the first record's payload
        try Data(bytes).write(to: URL(fileURLWithPath: journal(directory)))

        let damaged = try ModelStore(storePath: directory.store)
        #expect(damaged.damage?.contains("fails its checksum") == true)
        #expect(damaged.allRegisteredModels().isEmpty)
        #expect(throws: RunlogError.self) { try damaged.createRegisteredModel("c", description: nil, tags: [:]) }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: journal(directory)))) == bytes, "nothing overwritten")
    }

    @Test func twoWritersOfOneStoreSeeEachOthersChanges() throws {
        let directory = TemporaryDirectory()
        let first = try ModelStore(storePath: directory.store)
        let second = try ModelStore(storePath: directory.store)
        _ = try first.createRegisteredModel("a", description: nil, tags: [:])
        // The second has not read it yet, but its write catches up first and sees the name taken.
        #expect(throws: RunlogError.self) { try second.createRegisteredModel("a", description: nil, tags: [:]) }
        _ = try second.createVersion(
            of: "a", source: "s3://b/k", runID: nil, modelID: nil, description: nil, tags: [:], runLink: nil)
        _ = try first.createVersion(
            of: "a", source: "s3://b/k2", runID: nil, modelID: nil, description: nil, tags: [:], runLink: nil)
        try second.refresh()
        #expect(try second.registeredModel("a").versions.keys.sorted() == [1, 2])
    }

    @Test func registryRulesAreMLflows() throws {
        let directory = TemporaryDirectory()
        let models = try ModelStore(storePath: directory.store)
        _ = try models.createRegisteredModel("m", description: nil, tags: [:])
        for alias in ["latest", "v1", "V12"] {
            #expect(throws: RunlogError.self) { try models.setAlias(alias, of: "m", to: 1) }
        }
        for number in 1...3 {
            let version = try models.createVersion(
                of: "m", source: "s\(number)", runID: nil, modelID: nil, description: nil, tags: [:], runLink: nil)
            #expect(version.version == Int64(number))
        }
        try models.deleteVersion("m", 3)
        let fourth = try models.createVersion(
            of: "m", source: "s4", runID: nil, modelID: nil, description: nil, tags: [:], runLink: nil)
        #expect(fourth.version == 4, "a deleted version's number is not reused")
        _ = try models.transitionStage("m", 1, to: "Production", archiveExisting: false)
        _ = try models.transitionStage("m", 2, to: "production", archiveExisting: true)
        #expect(try models.version("m", 1).stage == .archived)
        #expect(try models.registeredModel("m").latestVersions.map(\.version) == [4, 2, 1])
        let page = try models.searchVersions(
            filter: "name = 'm' AND version_number >= 2", orderBy: [], maxResults: 1, pageToken: nil)
        #expect(page.versions.map(\.version) == [4])
        let rest = try models.searchVersions(
            filter: "name = 'm' AND version_number >= 2", orderBy: [], maxResults: 5, pageToken: page.nextPageToken)
        #expect(rest.versions.map(\.version) == [2])
        #expect(throws: RunlogError.self) {
            try models.searchVersions(filter: "name = ", orderBy: [], maxResults: 5, pageToken: nil)
        }
    }
}
