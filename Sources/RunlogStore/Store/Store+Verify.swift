/// What `verify` found in a run.
public struct VerifyReport: Sendable {
    public let runID: RunID
    /// Corruption and notices, each with file and offset.
    public var problems: [StoreProblem] = []
    /// The end of the log where a writer stopped mid-record: mentioned, not a failure.
    public var tornTail: TornTail?
    public var series = 0
    public var blocks = 0
    public var points = 0
    public var records = 0

    /// Whether any problem is corruption (unknown record types and torn tails are not).
    public var isClean: Bool { !problems.contains { $0.isCorruption } }
}

extension Store {
    /// Checks every checksum of a run's log and decodes every block.
    public func verify(_ id: RunID) throws(StoreError) -> VerifyReport {
        // Every record is checked: no snapshot stands in for reading the log.
        let reader = try openReader(id, useSnapshot: false)
        let index = reader.index
        var report = VerifyReport(runID: id, problems: reader.problems, tornTail: reader.tornTail)
        report.series = index.series.count
        report.records = index.records.count
        for series in index.series.values {
            for block in series.blocks {
                report.blocks += 1
                do {
                    let points = try RangeScan.run(blocks: [block], unsealed: [], range: .all, files: reader.files)
                    report.points += points.count
                } catch {
                    report.problems.append(
                        StoreProblem(
                            .undecodableRecord,
                            error.location
                                ?? DiskLocation(file: reader.files.path(of: block.segment), offset: block.offset),
                            error.underlying.map { "\($0)" } ?? error.message))
                }
            }
        }
        return report
    }
}
