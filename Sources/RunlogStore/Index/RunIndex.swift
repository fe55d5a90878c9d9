/// Where a block is and what it holds, without decoding it.
public struct BlockDescriptor: Sendable, Hashable {
    /// The sequence number of the segment file that holds the block.
    public var segment: UInt32
    /// The offset of the block's record (its frame header) in that file.
    public var offset: Int64
    /// The record's length, frame header included.
    public var length: Int
    public var summary: BlockSummary
}

/// The index of one series: its blocks in log order, and their merged summary.
public struct SeriesIndex: Sendable {
    public let key: String
    /// A series of one block keeps it inline, its summary the series' (a run with a million keys
    /// of a few points each is mostly such series): no array to allocate and no second copy of
    /// the summary, about 160 bytes a key. Longer series keep an array and the merged summary.
    private enum Storage: Sendable {
        case empty
        case one(BlockDescriptor)
        case many([BlockDescriptor], BlockSummary)
    }
    private var storage = Storage.empty

    init(key: String) {
        self.key = key
    }

    /// The blocks in log order.
    public var blocks: [BlockDescriptor] {
        switch storage {
        case .empty: []
        case .one(let block): [block]
        case .many(let blocks, _): blocks
        }
    }

    /// The newest block, without building the array.
    var lastBlock: BlockDescriptor? {
        switch storage {
        case .empty: nil
        case .one(let block): block
        case .many(let blocks, _): blocks.last
        }
    }

    public var blockCount: Int {
        switch storage {
        case .empty: 0
        case .one: 1
        case .many(let blocks, _): blocks.count
        }
    }

    /// Summary of every block (nil before the first block); unsealed points are not included.
    public var summary: BlockSummary? {
        switch storage {
        case .empty: nil
        case .one(let block): block.summary
        case .many(_, let summary): summary
        }
    }

    mutating func add(_ block: BlockDescriptor) {
        switch storage {
        case .empty:
            storage = .one(block)
        case .one(let first):
            var summary = first.summary
            summary.merge(block.summary)
            storage = .many([first, block], summary)
        case .many(var blocks, var summary):
            storage = .empty  // the array's only reference is `blocks` now: appending does not copy it
            blocks.append(block)
            summary.merge(block.summary)
            storage = .many(blocks, summary)
        }
    }
}

/// A run's series by key: the series in one array, in the order they were added, and a table of
/// positions into it (`KeyPositions`). A dictionary of key to `SeriesIndex` kept a 152-byte value
/// in every bucket, and at a million keys it has two million buckets: about 350 bytes a key for
/// the table alone, where the array holds 152 bytes a key and the positions 8.
public struct SeriesTable: Sendable, Sequence {
    private var positions = KeyPositions()
    private var entries: [SeriesIndex] = []

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// The series, in the order they were added.
    public var values: [SeriesIndex] { entries }
    /// Their keys, in the same order.
    public var keys: LazyMapSequence<[SeriesIndex], String> { entries.lazy.map(\.key) }

    public subscript(key: String) -> SeriesIndex? {
        position(of: key).map { entries[$0] }
    }

    private func position(of key: String) -> Int? {
        positions.find(key) { entries[$0].key }
    }

    /// Stores `series` under its key, in place of the series of that key if there is one.
    mutating func set(_ series: SeriesIndex) {
        if let position = position(of: series.key) {
            entries[position] = series
        } else {
            append(series)
        }
    }

    /// Adds `block` to the series `key`, defining the series on its first block.
    mutating func add(_ block: BlockDescriptor, key: String) {
        if let position = position(of: key) {
            entries[position].add(block)
        } else {
            var series = SeriesIndex(key: key)
            series.add(block)
            append(series)
        }
    }

    private mutating func append(_ series: SeriesIndex) {
        entries.append(series)
        let keys = entries  // a second reference only until the positions have it
        positions.insert(series.key, at: keys.count - 1) { keys[$0].key }
    }

    public func mapValues<T>(_ transform: (SeriesIndex) throws -> T) rethrows -> [String: T] {
        var result: [String: T] = [:]
        result.reserveCapacity(entries.count)
        for series in entries { result[series.key] = try transform(series) }
        return result
    }

    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[SeriesIndex]>
        public mutating func next() -> (key: String, value: SeriesIndex)? {
            base.next().map { ($0.key, $0) }
        }
    }

    /// The series as (key, series) pairs, in the order they were added.
    public func makeIterator() -> Iterator { Iterator(base: entries.makeIterator()) }
}

/// What a run's log holds: its series and their blocks, and its metadata records in log order.
public struct RunIndex: Sendable {
    public internal(set) var series = SeriesTable()
    public internal(set) var records: [RunRecord] = []

    public var keys: [String] { series.keys.sorted() }

    package init() {}

    public func series(_ key: String) -> SeriesIndex? { series[key] }

    /// About how many bytes this index holds in memory: block descriptors, keys and records,
    /// with a rough allowance for dictionary and array overhead.
    public var estimatedMemory: Int {
        var bytes = MemoryLayout<RunIndex>.size
        for (key, series) in series {
            bytes += MemoryLayout<SeriesIndex>.stride + 32 + key.utf8.count
            if series.blockCount > 1 { bytes += 32 + series.blockCount * MemoryLayout<BlockDescriptor>.stride }
        }
        for record in records {
            bytes += MemoryLayout<RunRecord>.stride + record.payload().count
        }
        return bytes
    }

    mutating func add(_ block: BlockDescriptor, key: String) {
        series.add(block, key: key)
    }

    /// Applies one record of the log. Returns why it was refused, if it was.
    package mutating func apply(
        _ type: RecordType, segment: UInt32, offset: Int64, payload: UnsafeRawBufferPointer
    ) -> String? {
        do {
            switch type {
            case .block:
                var reader = ByteReader(payload)
                let header = try BlockHeader.read(&reader)
                add(
                    BlockDescriptor(
                        segment: segment, offset: offset, length: RecordFrame.headerSize + payload.count,
                        summary: header.summary),
                    key: header.key)
            case .param, .tag, .input, .status, .attribute:
                records.append(try RunRecord.decode(type: type, payload: payload))
            }
            return nil
        } catch {
            return error.reason
        }
    }
}
