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

/// What a run's log holds: its series and their blocks, and its metadata records in log order.
public struct RunIndex: Sendable {
    public internal(set) var series: [String: SeriesIndex] = [:]
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
        series[key, default: SeriesIndex(key: key)].add(block)
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
