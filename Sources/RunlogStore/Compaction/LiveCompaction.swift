#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Compaction of the part of a run its writer has finished with, while the writer goes on.
///
/// A writer that flushes often (every REST request of a client does) writes a small block per
/// series each time. Once the small blocks that a merge would combine reach
/// `StoreOptions.liveCompactionBytes` and an eighth of the run's bytes, the sealer ends the segment
/// it writes and starts the next but one (sequence `ended + 2`), so that segments `base…ended`
/// never change again, and queues this job with the index of what they hold. The store's
/// compaction thread writes their records and points as one compacted segment `ended + 1` under a
/// temporary name and fsyncs it; then, holding the writer's lock and only if the writer is still
/// open, renames it into place and fsyncs the directory, and gives the writer the new blocks in
/// place of the old ones; then deletes the replaced segments. Readers take the compacted segment
/// as the log's start, as they do after `Compaction`: a crash at any step reads every point once.
/// The writer never waits for the encoding, only for the rename.
struct LiveCompaction: Sendable {
    /// What a writer counts toward its next live compaction; guarded by the writer's lock.
    struct Progress {
        /// A live compaction is queued or running.
        var running = false
        /// The first segment written since the last live compaction started, or since the writer
        /// opened: only small blocks there count.
        var tailStart: UInt32
        /// Bytes of small blocks since `tailStart` that follow a small block of their own series
        /// there: what a compaction would merge.
        var mergeableBytes: Int64 = 0
        /// Bytes of the run's live segments.
        var runBytes: Int64

        /// Counts `block`, written after `last`, the series' block before it.
        mutating func count(_ block: BlockDescriptor, after last: BlockDescriptor?, smallBelow small: Int) {
            guard block.summary.count < small, let last, last.summary.count < small, last.segment >= tailStart
            else { return }
            mergeableBytes += Int64(block.length)
        }

        func isDue(minimum: Int) -> Bool {
            !running && mergeableBytes >= Int64(minimum) && mergeableBytes * 8 >= runBytes
        }
    }

    static let temporaryPrefix = "live-compaction-"

    let runID: RunID
    let directory: String
    /// Everything in segments `base…ended`: the writer's index when it ended segment `ended`.
    let source: RunIndex
    let base: UInt32
    let ended: UInt32
    /// The writer's lock and state, and its segment handles.
    let state: ConditionLock<WriterState>
    let files: SegmentFiles
    let options: StoreOptions

    var sequence: UInt32 { ended + 1 }
    private var fileSystem: any FileSystem { options.fileSystem }

    /// Writes, publishes and cleans up; never throws: a failure leaves the run as it was (the
    /// writer's blocks and segments untouched) and is logged.
    func run(isCancelled: () -> Bool) -> CompactionReport {
        var report = CompactionReport(runID: runID, outcome: .notNeeded)
        report.whileWritten = true
        let listed = (try? SegmentName.list(in: directory, fileSystem: fileSystem)) ?? []
        let replaced = listed.filter { $0 >= base && $0 <= ended }
        report.segmentsBefore = replaced.count
        report.blocksBefore = source.series.values.reduce(0) { $0 + $1.blockCount }
        let replacedBytes = replaced.reduce(Int64(0)) { $0 + (fileSystem.fileSize(path(of: $1)) ?? 0) }
        report.bytesBefore = replacedBytes
        let temporary = directory + "/\(Self.temporaryPrefix)\(getpid())-\(sequence).tmp"
        let reading = SegmentFiles(fileSystem: fileSystem, directory: directory)
        defer { reading.closeAll() }
        let written: CompactedSegment.Written
        do {
            guard
                let output = try CompactedSegment.write(
                    source, from: reading, to: temporary, sequence: sequence, runID: runID, options: options,
                    isCancelled: isCancelled)
            else {
                try? fileSystem.remove(temporary)  // abandoned output; the run is untouched
                finish()
                report.outcome = .cancelled
                return report
            }
            written = output
        } catch {
            try? fileSystem.remove(temporary)  // a failed write (a full disk): the run is untouched
            finish()
            options.logger.warning("live compaction of run \(runID) failed, the run is as it was: \(error)")
            report.outcome = .deferred("writing the compacted segment failed: \(error)")
            return report
        }
        switch publish(temporary, written, replacedBytes: replacedBytes) {
        case .published(let durable):
            report.outcome = .compacted
            report.segmentsAfter = 1
            report.blocksAfter = written.blocks
            report.bytesAfter = written.bytes
            report.points = written.points
            if durable { removeReplaced(replaced) }
        case .writerClosed:
            try? fileSystem.remove(temporary)  // not published; the run is untouched
            report.outcome = .deferred("the writer closed first")
        case .failed(let error):
            try? fileSystem.remove(temporary)
            options.logger.warning("live compaction of run \(runID) failed, the run is as it was: \(error)")
            report.outcome = .deferred("publishing the compacted segment failed: \(error)")
        }
        return report
    }

    /// Lets the writer start another live compaction (this one was dropped before it ran).
    func finish() {
        state.withLock { $0.live.running = false }
    }

    private enum Published {
        /// `durable`: the directory was fsynced after the rename, so the replaced segments can go.
        case published(durable: Bool)
        case writerClosed
        case failed(any Error)
    }

    /// Holding the writer's lock: renames the output into place and swaps the writer's blocks in
    /// the replaced segments for the new ones. Once the rename is done readers see the compacted
    /// segment, so the writer takes its blocks even when the directory's fsync then fails (and
    /// the replaced segments, which the next open ignores, stay).
    private func publish(_ temporary: String, _ written: CompactedSegment.Written, replacedBytes: Int64) -> Published {
        state.withLock { s -> Published in
            s.live.running = false
            guard !s.closed, s.failure == nil else { return .writerClosed }
            do {
                try fileSystem.rename(temporary, to: path(of: sequence))
            } catch {
                return .failed(error)
            }
            s.index = Self.merged(written.index, later: s.index, after: ended)
            s.base = sequence
            s.live.runBytes += written.bytes - replacedBytes
            do {
                try fileSystem.syncDirectory(directory)
            } catch {
                options.logger.warning(
                    "live compaction of run \(runID): fsync of \(directory) failed (\(error)); the replaced segments stay"
                )
                return .published(durable: false)
            }
            return .published(durable: true)
        }
    }

    /// The compacted index, then the blocks of `current` in segments after `ended` (written by the
    /// writer while the compaction ran), with `current`'s records (the compacted segment holds
    /// the ones before `ended`, the later segments the rest, in the same order).
    static func merged(_ compacted: RunIndex, later current: RunIndex, after ended: UInt32) -> RunIndex {
        var index = compacted
        index.records = current.records
        for (key, series) in current.series {
            guard let last = series.lastBlock, last.segment > ended else { continue }
            for block in series.blocks where block.segment > ended { index.add(block, key: key) }
        }
        return index
    }

    private func removeReplaced(_ replaced: [UInt32]) {
        files.retire(replaced)
        do {
            for sequence in replaced {
                do {
                    try fileSystem.remove(path(of: sequence))
                } catch let error as SystemError where error.isMissingFile {
                    continue  // already gone (a later writer's open removed it)
                }
            }
            try fileSystem.syncDirectory(directory)
        } catch {
            // Readers ignore replaced segments; the next writer or compaction deletes them.
            options.logger.warning("live compaction of run \(runID): removing the replaced segments failed: \(error)")
        }
    }

    private func path(of sequence: UInt32) -> String { directory + "/" + SegmentName.fileName(sequence) }

    /// Bytes of the segments from `base` on.
    static func liveBytes(directory: String, base: UInt32, fileSystem: any FileSystem) -> Int64 {
        let sequences = (try? SegmentName.list(in: directory, fileSystem: fileSystem)) ?? []
        return sequences.filter { $0 >= base }.reduce(Int64(0)) {
            $0 + (fileSystem.fileSize(directory + "/" + SegmentName.fileName($1)) ?? 0)
        }
    }
}
