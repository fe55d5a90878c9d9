import Synchronization

/// A read-only view of one run, which another process may be writing. It sees what was flushed
/// when it was opened or last refreshed.
public final class RunReader: Sendable {
    public let runID: RunID
    private let loader: Mutex<RunLogLoader>
    let files: SegmentFiles

    init(runID: RunID, loader: RunLogLoader, files: SegmentFiles) throws(StoreError) {
        self.runID = runID
        var loader = loader
        try loader.refresh()
        self.loader = Mutex(loader)
        self.files = files
    }

    /// Reads what the writer flushed since the last refresh.
    public func refresh() throws(StoreError) {
        try loader.withLock { (loader) throws(StoreError) in try loader.refresh() }
    }

    public var index: RunIndex { loader.withLock { $0.index } }
    /// Corruption and notices found while reading the log.
    public var problems: [StoreProblem] { loader.withLock { $0.problems } }
    /// Where the log currently ends mid-record, if it does (a writer mid-write, or one that crashed).
    public var tornTail: TornTail? { loader.withLock { $0.tornTail } }

    /// Closes the segment files scans opened (they reopen on the next scan). For callers that keep
    /// many readers around and want to hold no descriptors between queries.
    public func closeFiles() {
        files.closeAll()
    }

    /// The points of `key` in `range`, in step order (ties by timestamp, then insertion).
    public func scan(_ key: String, range: ScanRange = .all) throws(StoreError) -> [MetricPoint] {
        guard let series = index.series(key) else { return [] }
        return try RangeScan.run(blocks: series.blocks, unsealed: [], range: range, files: files)
    }

    /// The points of `key` in `range`, in the same order as `scan(_:range:)`, handed to `body` a
    /// chunk at a time (a block's worth, usually) without holding the whole history in memory.
    public func scan(
        _ key: String, range: ScanRange = .all, chunks body: (UnsafeBufferPointer<MetricPoint>) throws -> Void
    ) throws {
        guard let series = index.series(key) else { return }
        try RangeScan.forEachChunk(blocks: series.blocks, unsealed: [], range: range, files: files, body)
    }
}
