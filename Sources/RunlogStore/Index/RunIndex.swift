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
    public internal(set) var blocks: [BlockDescriptor] = []
    /// Summary of every block (nil before the first block); unsealed points are not included.
    public internal(set) var summary: BlockSummary?

    mutating func add(_ block: BlockDescriptor) {
        blocks.append(block)
        if summary == nil { summary = block.summary } else { summary!.merge(block.summary) }
    }
}

/// What a run's log holds: its series and their blocks, and its metadata records in log order.
public struct RunIndex: Sendable {
    public internal(set) var seriesIDs: [String: UInt32] = [:]
    public internal(set) var series: [UInt32: SeriesIndex] = [:]
    public internal(set) var records: [RunRecord] = []

    public var keys: [String] { seriesIDs.keys.sorted() }

    public func series(_ key: String) -> SeriesIndex? {
        seriesIDs[key].flatMap { series[$0] }
    }

    /// Applies one record of the log. Returns why it was refused, if it was.
    mutating func apply(
        _ type: RecordType, segment: UInt32, offset: Int64, payload: UnsafeRawBufferPointer
    ) -> String? {
        do {
            switch type {
            case .seriesDefinition:
                let definition = try SeriesDefinition.decode(payload)
                if let existing = series[definition.seriesID] {
                    return existing.key == definition.key
                        ? nil : "series \(definition.seriesID) redefined from \"\(existing.key)\" to \"\(definition.key)\""
                }
                if seriesIDs[definition.key] != nil { return "series key \"\(definition.key)\" defined twice" }
                seriesIDs[definition.key] = definition.seriesID
                series[definition.seriesID] = SeriesIndex(key: definition.key)
            case .block:
                var reader = ByteReader(payload)
                let header = try BlockHeader.read(&reader)
                guard series[header.seriesID] != nil else { return "block of undefined series \(header.seriesID)" }
                series[header.seriesID]!.add(
                    BlockDescriptor(
                        segment: segment, offset: offset, length: RecordFrame.headerSize + payload.count,
                        summary: header.summary))
            case .param, .tag, .input, .status:
                records.append(try RunRecord.decode(type: type, payload: payload))
            }
            return nil
        } catch {
            return error.reason
        }
    }
}
