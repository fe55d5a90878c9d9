/// Writes the compacted segment of an index: its records, then each series' points in large
/// step-sorted blocks. Used by `Compaction` (a closed run) and `LiveCompaction` (the part of a run
/// its writer has finished with).
enum CompactedSegment {
    struct Written {
        /// The written segment's index: `source`'s records, its series' blocks in the new segment.
        var index = RunIndex()
        var blocks = 0
        var points = 0
        /// The file's size.
        var bytes: Int64 = 0
    }

    /// Writes `source`, read through `files`, to `path` as segment `sequence`, flagged compacted,
    /// and fsyncs it; nil when cancelled. A block of at least half the largest size that follows
    /// what was written before it in steps is copied as it is (its checksum checked on the way):
    /// recompacting a run whose older part is compacted already re-encodes only its newer blocks.
    static func write(
        _ source: RunIndex, from files: SegmentFiles, to path: String, sequence: UInt32, runID: RunID,
        options: StoreOptions, isCancelled: () -> Bool
    ) throws -> Written? {
        let output = try OutputFile(files.fileSystem.open(path, writable: true, create: true))
        defer { try? output.file.close() }  // closed below on success; this covers failures
        try output.file.truncate(to: 0)
        try output.append(SegmentHeader(runID: runID, sequence: sequence, compacted: true).encoded())
        for record in source.records {
            try output.append(RecordFrame.framed(type: record.type, payload: record.payload()))
        }
        var written = Written()
        written.index.records = source.records
        var encoder = BlockEncoder()
        var payload: [UInt8] = []
        var record: [UInt8] = []
        for key in source.keys {
            guard let series = source.series(key) else { continue }
            func add(_ bytes: [UInt8], _ summary: BlockSummary) throws {
                written.index.add(
                    BlockDescriptor(segment: sequence, offset: output.offset, length: bytes.count, summary: summary),
                    key: key)
                try output.append(bytes)
                written.blocks += 1
                written.points += summary.count
            }
            var pending: [MetricPoint] = []
            func emit(_ points: ArraySlice<MetricPoint>) throws {
                payload.removeAll(keepingCapacity: true)
                let header = encoder.encode(
                    key: key, points: Array(points), compress: options.compression, into: &payload)
                try add(RecordFrame.framed(type: .block, payload: payload), header.summary)
            }
            func take(_ chunk: UnsafeBufferPointer<MetricPoint>) throws {
                pending.append(contentsOf: chunk)
                // Cut only with a point beyond the block in hand: where the block ends depends on it.
                while pending.count > BlockHeader.maxPoints {
                    let cut = Compaction.cut(pending)
                    try emit(pending[..<cut])
                    pending.removeFirst(cut)
                }
            }
            let blocks = series.blocks
            if RangeScan.isOrdered(blocks, []) {
                // Blocks follow each other in steps: each is taken in turn, and a large one is kept whole.
                for block in blocks {
                    if isCancelled() { return nil }
                    if pending.isEmpty && block.summary.count >= BlockHeader.maxPoints / 2 {
                        try files.readRecord(block, into: &record)
                        try add(record, block.summary)
                    } else {
                        try RangeScan.forEachChunk(blocks: [block], unsealed: [], range: .all, files: files, take)
                    }
                }
            } else {
                // Steps overlap across blocks: the scan merges them into step order first.
                var cancelled = false
                try RangeScan.forEachChunk(blocks: blocks, unsealed: [], range: .all, files: files) { chunk in
                    guard !cancelled, !isCancelled() else {
                        cancelled = true
                        return
                    }
                    try take(chunk)
                }
                if cancelled { return nil }
            }
            if !pending.isEmpty { try emit(pending[...]) }
        }
        try output.flush()
        try output.file.sync()
        written.bytes = output.offset
        return written
    }
}
