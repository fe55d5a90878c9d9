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
    /// Checks every checksum of a run's log and of its index snapshot, and decodes every block.
    public func verify(_ id: RunID) throws(StoreError) -> VerifyReport {
        // Every record is checked: no snapshot stands in for reading the log.
        let reader = try openReader(id, useSnapshot: false)
        let index = reader.index
        var report = VerifyReport(runID: id, problems: reader.problems, tornTail: reader.tornTail)
        report.problems += checkSnapshot(of: id, base: reader.base)
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

extension Store {
    /// The snapshot's own damage, and what it proves about the log: segments only grow (a torn
    /// tail is cut back, but never below what a closed writer's snapshot covered), so a live
    /// segment shorter than the snapshot recorded, or missing, lost its end — and the bytes just
    /// before the end it covers must still match its `tailCRC`.
    func checkSnapshot(of id: RunID, base: UInt32) -> [StoreProblem] {
        let directory = directory(of: id)
        switch IndexSnapshot.read(directory: directory, fileSystem: fileSystem) {
        case .none:
            return []
        case .damaged(let path, let reason):
            return [StoreProblem(.damagedIndexSnapshot, DiskLocation(file: path, offset: 0), reason)]
        case .snapshot(let snapshot):
            guard snapshot.runID == id else {
                return [
                    StoreProblem(
                        .damagedIndexSnapshot, DiskLocation(file: directory + "/" + IndexSnapshot.fileName, offset: 0),
                        "the snapshot belongs to run \(snapshot.runID)")
                ]
            }
            var problems: [StoreProblem] = []
            // The bytes just before the end the snapshot covers are never rewritten either.
            let end = snapshot.position
            let endPath = directory + "/" + SegmentName.fileName(end.sequence)
            if end.sequence >= base, let size = fileSystem.fileSize(endPath), size >= end.offset,
                let tail = try? IndexSnapshot.tail(directory: directory, position: end, fileSystem: fileSystem),
                tail.checksum != snapshot.tailCRC
            {
                problems.append(
                    StoreProblem(
                        .truncatedSegment, DiskLocation(file: endPath, offset: max(0, end.offset - 64)),
                        "the bytes before offset \(end.offset), where the index snapshot says the log ended, changed"))
            }
            for (sequence, recorded) in snapshot.segments where sequence >= base {
                let path = directory + "/" + SegmentName.fileName(sequence)
                let size = fileSystem.fileSize(path)
                if size == nil || size! < recorded {
                    problems.append(
                        StoreProblem(
                            .truncatedSegment, DiskLocation(file: path, offset: size ?? 0),
                            size == nil
                                ? "the segment is missing; the index snapshot recorded \(recorded) bytes"
                                : "the segment is \(size!) bytes; the index snapshot recorded \(recorded)"))
                }
            }
            return problems
        }
    }
}
