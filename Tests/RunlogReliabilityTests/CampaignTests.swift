import RunlogReliability
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Short versions of the reliability campaign (`runlog-campaign` runs the full ones): each must
/// find nothing wrong. The seed comes from RUNLOG_CAMPAIGN_SEED when set, to replay a failure.
@Suite struct CampaignTests {
    let seed: UInt64 = {
        guard let text = getenv("RUNLOG_CAMPAIGN_SEED") else { return 1 }
        return UInt64(String(cString: text)) ?? 1
    }()

    @Test func aWriterKilledAtRandomLosesOnlyWhatItHadNotFlushed() throws {
        let directory = TemporaryDirectory()
        let report = CrashLoop(
            writerExecutable: builtProduct("RunlogTestWriter"), cliExecutable: builtProduct("runlog"),
            directory: directory.path, iterations: 8, seed: seed, churn: false
        ).run()
        #expect(report.failures == [])
        #expect(report.iterations == 8)
        #expect(report.pointsChecked > 0)
    }

    @Test func killsDuringClosingAndCompactionLoseNothingFlushed() throws {
        let directory = TemporaryDirectory()
        let report = CrashLoop(
            writerExecutable: builtProduct("RunlogTestWriter"), cliExecutable: nil, directory: directory.path,
            iterations: 10, seed: seed, churn: true
        ).run()
        #expect(report.failures == [])
        #expect(report.iterations == 10)
    }

    @Test func killsDuringLiveCompactionLoseNothingFlushed() throws {
        let directory = TemporaryDirectory()
        var loop = CrashLoop(
            writerExecutable: builtProduct("RunlogTestWriter"), cliExecutable: nil, directory: directory.path,
            iterations: 10, seed: seed, churn: false)
        loop.live = true
        let report = loop.run()
        #expect(report.failures == [])
        #expect(report.iterations == 10)
    }

    @Test func powerLossKeepsWhatEachDurabilitySettingPromises() {
        let report = PowerLoss(iterations: 100, seed: seed).run()
        #expect(report.failures == [])
        #expect([.never, .onFlush, .interval, .live].allSatisfy { report.tallies[$0]?.images == 20 })
        #expect(report.tallies[.live]!.compactedBase > 0, "some cuts land after a live compaction")
        #expect(report.tallies[.compaction]!.images > 20 * 6, "a cut at each step of 20 compactions' ends")
        #expect(report.tallies[.onFlush]!.acknowledgedPoints > 0)
    }

    @Test func everyChangeToAChecksummedByteIsDetectedAndNothingFalseIsRead() {
        let directory = TemporaryDirectory()
        let report = CorruptionCampaign(directory: directory.path, mutations: 150, seed: seed).run()
        #expect(report.failures == [])
        let checksummed = report.tallies.values.map(\.checksummedChanges).reduce(0, +)
        #expect(checksummed > 50)
        #expect(report.tallies.values.map(\.detectedByVerify).reduce(0, +) == checksummed)
    }
}
