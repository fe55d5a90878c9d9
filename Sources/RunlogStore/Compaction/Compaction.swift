#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one compaction of a run did, or why it did nothing.
public struct CompactionReport: Sendable, CustomStringConvertible {
    public enum Outcome: Sendable, Hashable {
        case compacted
        /// The policy found nothing worth merging.
        case notNeeded
        /// Not now: a writer holds the run, or wrote to it while it was being compacted. Compaction
        /// of a run being written is deferred until its writer closes.
        case deferred(String)
        case cancelled
    }

    public let runID: RunID
    public var outcome: Outcome
    public var segmentsBefore = 0
    public var blocksBefore = 0
    public var bytesBefore: Int64 = 0
    public var segmentsAfter = 0
    public var blocksAfter = 0
    public var bytesAfter: Int64 = 0
    public var points = 0
    /// A live compaction: the part of the run its writer had finished with, while it wrote on.
    public var whileWritten = false

    public var description: String {
        let run = whileWritten ? "run \(runID), while written" : "run \(runID)"
        return switch outcome {
        case .compacted:
            "\(run): \(plural(segmentsBefore, "segment")), \(plural(blocksBefore, "block")), \(bytesBefore) bytes → "
                + "\(plural(segmentsAfter, "segment")), \(plural(blocksAfter, "block")), \(bytesAfter) bytes (\(points) points)"
        case .notNeeded: "\(run): nothing to compact"
        case .deferred(let why): "\(run): deferred, \(why)"
        case .cancelled: "\(run): cancelled"
        }
    }
}

private func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// Merges a run's blocks and segments into large step-sorted blocks in one new segment.
///
/// The new segment is written under a temporary name, fsynced, then — holding the run's lock, and
/// only if the run's segments are exactly as they were when compaction read them — renamed to the
/// next sequence number and the directory fsynced; then the old segments are deleted. Its header
/// is flagged compacted, so a reader that finds old segments beside it (a crash before they were
/// deleted) ignores them: every point is read exactly once whatever step a crash interrupts.
/// Writers never wait for the encoding, only for the rename and the deletions.
struct Compaction {
    let fileSystem: any FileSystem
    let directory: String
    let runID: RunID
    let options: StoreOptions
    let isCancelled: @Sendable () -> Bool

    static let temporaryPrefix = "compaction-"

    func run(force: Bool) throws(StoreError) -> CompactionReport {
        var report = CompactionReport(runID: runID, outcome: .notNeeded)
        try io("removing stale compaction files") { try removeStaleTemporaries() }
        var loader = RunLogLoader(fileSystem: fileSystem, directory: directory, runID: runID)
        try loader.refresh()
        if let problem = loader.problems.first(where: \.isCorruption) {
            report.outcome = .deferred("the run has corruption (\(problem)); see verify")
            return report
        }
        let before = try io("measuring the segments") { try segmentSizes() }
        let live = before.filter { $0.key >= loader.base && !loader.skippedSegments.contains($0.key) }
        report.segmentsBefore = live.count
        report.bytesBefore = live.values.reduce(0, +)
        report.blocksBefore = loader.index.series.values.reduce(0) { $0 + $1.blockCount }
        guard force || needsCompaction(loader, liveSegments: live.count) else { return report }
        // A run being written is compacted by its writer's store (`LiveCompaction`), which may
        // delete the segments read here: not read at all while a writer holds the run.
        guard try io("probing the run's lock", { try !isWritten() }) else {
            report.outcome = .deferred("a writer holds the run")
            return report
        }
        guard let last = before.keys.max() else { return report }
        let next = last + 1
        let temporary = directory + "/\(Compaction.temporaryPrefix)\(getpid())-\(next).tmp"
        var index = RunIndex()
        do {
            guard try write(loader, to: temporary, sequence: next, report: &report, index: &index) else {
                try? fileSystem.remove(temporary)  // abandoned output; the run is untouched
                report.outcome = .cancelled
                return report
            }
            guard let outcome = try publish(temporary, as: next, expecting: before, index: index) else {
                report.outcome = .compacted
                let after = try segmentSizes()
                report.segmentsAfter = after.count
                report.bytesAfter = after.values.reduce(0, +)
                return report
            }
            try? fileSystem.remove(temporary)  // not published; the run is untouched
            report.outcome = outcome
            return report
        } catch {
            // A failed write (a full disk) leaves no temporary behind; once renamed there is none.
            try? fileSystem.remove(temporary)
            if let error = error as? StoreError, error.isMissingFile {
                // A writer took the run after the probe and its live compaction deleted a segment.
                report.outcome = .deferred("the run changed while it was compacted")
                return report
            }
            if let error = error as? StoreError { throw error }
            throw StoreError(.io, "compacting run \(runID)", underlying: error)
        }
    }

    /// A run is worth compacting when its log spans several segments, when a series has
    /// `compactionSmallBlocks` blocks under half the largest block size, or when replaced
    /// segments linger.
    private func needsCompaction(_ loader: RunLogLoader, liveSegments: Int) -> Bool {
        if liveSegments > 1 || !loader.replaced.isEmpty { return true }
        return loader.index.series.values.contains { series in
            series.blockCount >= options.compactionSmallBlocks
                && series.blocks.count { $0.summary.count < BlockHeader.maxPoints / 2 } >= options.compactionSmallBlocks
        }
    }

    /// Writes the compacted segment; false when cancelled.
    private func write(
        _ loader: RunLogLoader, to path: String, sequence: UInt32, report: inout CompactionReport,
        index: inout RunIndex
    ) throws -> Bool {
        let files = SegmentFiles(fileSystem: fileSystem, directory: directory)
        defer { files.closeAll() }
        guard
            let written = try CompactedSegment.write(
                loader.index, from: files, to: path, sequence: sequence, runID: runID, options: options,
                isCancelled: isCancelled)
        else { return false }
        index = written.index
        report.blocksAfter = written.blocks
        report.points = written.points
        return true
    }

    /// Where to end a full block, given more than a block's worth of `points`: before the last run
    /// of equal steps when there is an earlier step, so that blocks follow each other in strictly
    /// increasing steps and scans can stream.
    static func cut(_ points: [MetricPoint]) -> Int {
        let limit = BlockHeader.maxPoints
        precondition(points.count > limit, "cut needs more than a block of points")
        var cut = limit
        while cut > 1 && points[cut - 1].step == points[cut].step { cut -= 1 }
        return cut > 1 ? cut : limit
    }

    /// Renames the output into place if the run is idle and unchanged, then deletes what it
    /// replaces. Returns nil when published, else why not.
    private func publish(
        _ temporary: String, as sequence: UInt32, expecting before: [UInt32: Int64], index: RunIndex
    ) throws -> CompactionReport.Outcome? {
        let lock = try fileSystem.open(directory + "/LOCK", writable: true, create: true)
        defer { try? lock.close() }  // releases the lock; nothing was written through it
        guard try lock.tryLockExclusive() else { return .deferred("a writer holds the run") }
        guard try segmentSizes() == before else { return .deferred("the run changed while it was compacted") }
        try fileSystem.rename(temporary, to: directory + "/" + SegmentName.fileName(sequence))
        try fileSystem.syncDirectory(directory)
        for old in before.keys.sorted() { try fileSystem.remove(directory + "/" + SegmentName.fileName(old)) }
        try fileSystem.syncDirectory(directory)
        // The new index, saved while the lock is held; a cache, so a failure is only logged.
        guard options.indexSnapshots else { return nil }
        do {
            let size = try segmentSizes()[sequence] ?? 0
            if let snapshot = try IndexSnapshot.take(
                of: index, runID: runID, base: sequence, position: (sequence, size), directory: directory,
                fileSystem: fileSystem)
            {
                try snapshot.write(directory: directory, fileSystem: fileSystem, sync: options.durability != .never)
            }
        } catch {
            options.logger.warning("saving the index snapshot of compacted run \(runID) failed: \(error)")
        }
        return nil
    }

    /// Whether a writer holds the run's lock now (the lock is released again at once).
    private func isWritten() throws -> Bool {
        let lock = try fileSystem.open(directory + "/LOCK", writable: true, create: true)
        defer { try? lock.close() }  // releases the lock if this took it; nothing was written
        return try !lock.tryLockExclusive()
    }

    /// Every segment's size, by sequence.
    private func segmentSizes() throws -> [UInt32: Int64] {
        var sizes: [UInt32: Int64] = [:]
        for sequence in try SegmentName.list(in: directory, fileSystem: fileSystem) {
            // A segment deleted since the listing reads as size -1: the comparison fails, as it should.
            sizes[sequence] = fileSystem.fileSize(directory + "/" + SegmentName.fileName(sequence)) ?? -1
        }
        return sizes
    }

    /// Output of a compaction that crashed or was cancelled, in any process.
    private func removeStaleTemporaries() throws {
        for entry in try fileSystem.contentsOfDirectory(directory)
        where entry.hasPrefix(Compaction.temporaryPrefix) && entry.hasSuffix(".tmp") {
            let pid = entry.dropFirst(Compaction.temporaryPrefix.count).split(separator: "-").first.flatMap {
                Int32($0)
            }
            // Another live process may be compacting this run right now: leave its file alone.
            if let pid, pid != getpid(), kill(pid, 0) == 0 { continue }
            try fileSystem.remove(directory + "/" + entry)
        }
    }

    private func io<T>(_ doing: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError(.io, "\(doing) of run \(runID)", underlying: error)
        }
    }
}

/// A file written front to back through a buffer.
final class OutputFile {
    let file: any FileHandle
    private var buffer: [UInt8] = []
    private var written: Int64 = 0

    init(_ file: any FileHandle) {
        self.file = file
    }

    /// Where the next appended byte lands.
    var offset: Int64 { written + Int64(buffer.count) }

    func append(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 4 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.writeAll(buffer, at: written)
        written += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
