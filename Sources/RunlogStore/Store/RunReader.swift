#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only view of one run, which another process may be writing. It sees what was flushed
/// when it was opened or last refreshed.
public final class RunReader: Sendable {
    public let runID: RunID
    private let loader: ConditionLock<RunLogLoader>
    let files: SegmentFiles

    /// Whether opening used the run's index snapshot rather than reading the whole log.
    public let openedFromSnapshot: Bool

    /// A reader over `loader`, which has read the log already.
    init(runID: RunID, loader: RunLogLoader, files: SegmentFiles, openedFromSnapshot: Bool) {
        self.runID = runID
        self.loader = ConditionLock(loader)
        self.files = files
        self.openedFromSnapshot = openedFromSnapshot
    }

    /// Reads what the writer flushed since the last refresh.
    public func refresh() throws(StoreError) {
        try loader.withLock { (loader) throws(StoreError) in try loader.refresh() }
    }

    public var index: RunIndex { loader.withLock { $0.index } }
    /// The newest compacted segment read (segments below it are replaced).
    package var base: UInt32 { loader.withLock { $0.base } }
    /// Corruption and notices found while reading the log.
    public var problems: [StoreProblem] { loader.withLock { $0.problems } }
    /// Where the log currently ends mid-record, if it does (a writer mid-write, or one that crashed).
    public var tornTail: TornTail? { loader.withLock { $0.tornTail } }
    /// Whether the run was deleted (`Store.deleteRun`) when it was opened or last refreshed: the
    /// refresh lists the run's directory anyway, tombstone and all.
    package var isDeleted: Bool { loader.withLock { $0.tombstoned } }

    /// The blocks of `key` that overlap `range`, in log order, when they follow each other in
    /// strictly increasing steps — so that consecutive slices can be scanned apart (on several
    /// threads) and their points concatenated in scan order. Nil when blocks overlap.
    public func orderedBlocks(_ key: String, range: ScanRange = .all) -> [BlockDescriptor]? {
        guard let series = index.series(key) else { return [] }
        let selected = range.isAll ? series.blocks : series.blocks.filter { range.overlaps($0.summary) }
        return RangeScan.isOrdered(selected, []) ? selected : nil
    }

    /// Scans `blocks` — a slice of `orderedBlocks(_:range:)` — handing the points in `range` to
    /// `body` a block at a time.
    public func scan(
        blocks: ArraySlice<BlockDescriptor>, range: ScanRange = .all,
        chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        try RangeScan.forEachChunk(blocks: Array(blocks), unsealed: [], range: range, files: files, body)
    }

    /// Closes the segment files scans opened (they reopen on the next scan). For callers that keep
    /// many readers around and want to hold no descriptors between queries.
    public func closeFiles() {
        files.closeAll()
    }

    /// The points of `key` in `range`, in step order (ties by timestamp, then insertion).
    public func scan(_ key: String, range: ScanRange = .all) throws(StoreError) -> [MetricPoint] {
        try retryingAfterCompaction { () throws(StoreError) in
            guard let series = index.series(key) else { return [] }
            return try RangeScan.run(blocks: series.blocks, unsealed: [], range: range, files: files)
        }
    }

    /// The points of `key` in `range`, in the same order as `scan(_:range:)`, handed to `body` a
    /// chunk at a time (a block's worth, usually) without holding the whole history in memory.
    public func scan(
        _ key: String, range: ScanRange = .all, chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        func scanOnce() throws {
            guard let series = index.series(key) else { return }
            try RangeScan.forEachChunk(blocks: series.blocks, unsealed: [], range: range, files: files, body)
        }
        var attempts = 0
        while true {
            do {
                return try scanOnce()
            } catch let error as StoreError where error.isMissingFile && attempts < 8 {
                // Segments are opened before the first chunk is handed out: nothing was delivered yet.
                attempts += 1
                files.closeAll()
                try refresh()
            }
        }
    }

    /// Runs a scan; when a compaction deleted a segment it needed since the last refresh, refreshes
    /// (which finds the compacted segment) and scans again.
    private func retryingAfterCompaction<T>(_ scan: () throws(StoreError) -> T) throws(StoreError) -> T {
        var attempts = 0
        while true {
            do {
                return try scan()
            } catch  where error.isMissingFile && attempts < 8 {
                attempts += 1
                files.closeAll()
                try refresh()
            }
        }
    }
}
