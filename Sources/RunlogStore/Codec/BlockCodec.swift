/// The payload of a block record: a header with the block's summary, then its column data, either
/// LZ4-compressed or raw. See FORMAT.md, "Block record".
package struct BlockHeader: Sendable, Hashable {
    /// The header's size without its key.
    static let fixedSize = 116
    /// The most points one block may hold; a larger count in a header is corruption.
    package static let maxPoints = 1 << 16

    /// The series' key: every block names its series, so no other record is needed to read it.
    var key: String
    var summary: BlockSummary
    var compressed: Bool
    var valueCodec: ValueCodec
    var stepsLength: Int
    var timesLength: Int
    var rawLength: Int

    func append(to bytes: inout [UInt8]) {
        bytes.appendString(key, lengthType: UInt16.self)
        bytes.appendLittleEndian(UInt32(summary.count))
        bytes.appendLittleEndian(summary.minStep)
        bytes.appendLittleEndian(summary.maxStep)
        bytes.appendLittleEndian(summary.minTimestamp)
        bytes.appendLittleEndian(summary.maxTimestamp)
        bytes.appendLittleEndian(summary.minValue)
        bytes.appendLittleEndian(summary.maxValue)
        bytes.appendLittleEndian(summary.first.step)
        bytes.appendLittleEndian(summary.first.timestamp)
        bytes.appendLittleEndian(summary.first.value)
        bytes.appendLittleEndian(summary.latest.step)
        bytes.appendLittleEndian(summary.latest.timestamp)
        bytes.appendLittleEndian(summary.latest.value)
        bytes.append(compressed ? 1 : 0)
        bytes.append(valueCodec.rawValue)
        bytes.appendLittleEndian(UInt32(stepsLength))
        bytes.appendLittleEndian(UInt32(timesLength))
        bytes.appendLittleEndian(UInt32(rawLength))
    }

    /// Parses and checks a header; the column data follows at `reader.offset`.
    static func read(_ reader: inout ByteReader) throws(DecodeError) -> BlockHeader {
        let key = try reader.readString(lengthType: UInt16.self, "series key")
        guard !key.isEmpty else { throw DecodeError("empty series key") }
        let count = Int(try reader.read(UInt32.self, "point count"))
        guard count >= 1, count <= maxPoints else { throw DecodeError("point count \(count) outside 1…\(maxPoints)") }
        let minStep = try reader.read(Int64.self, "min step")
        let maxStep = try reader.read(Int64.self, "max step")
        let minTime = try reader.read(Int64.self, "min timestamp")
        let maxTime = try reader.read(Int64.self, "max timestamp")
        let minValue = try reader.readDouble("min value")
        let maxValue = try reader.readDouble("max value")
        let first = MetricPoint(
            step: try reader.read(Int64.self, "first step"),
            timestamp: try reader.read(Int64.self, "first timestamp"),
            value: try reader.readDouble("first value"))
        let latest = MetricPoint(
            step: try reader.read(Int64.self, "latest step"),
            timestamp: try reader.read(Int64.self, "latest timestamp"),
            value: try reader.readDouble("latest value"))
        let compression = try reader.read(UInt8.self, "compression")
        guard compression <= 1 else { throw DecodeError("unknown compression \(compression)") }
        let codec = try ValueCodec(rawValue: try reader.read(UInt8.self, "value codec"))
        let stepsLength = Int(try reader.read(UInt32.self, "steps length"))
        let timesLength = Int(try reader.read(UInt32.self, "timestamps length"))
        let rawLength = Int(try reader.read(UInt32.self, "raw length"))
        let columnBound = IntegerColumn.maxEncodedSize(count)
        guard stepsLength <= columnBound, timesLength <= columnBound,
            rawLength == stepsLength + timesLength + count * codec.bytesPerValue
        else { throw DecodeError("column lengths \(stepsLength)+\(timesLength) disagree with raw length \(rawLength)") }
        guard minStep <= maxStep, minTime <= maxTime else { throw DecodeError("inverted step or time range") }
        guard first.step == minStep, latest.step == maxStep else {
            throw DecodeError("first or latest point outside the block's step range")
        }
        return BlockHeader(
            key: key,
            summary: BlockSummary(
                count: count, minStep: minStep, maxStep: maxStep, minTimestamp: minTime, maxTimestamp: maxTime,
                minValue: minValue, maxValue: maxValue, first: first, latest: latest),
            compressed: compression == 1, valueCodec: codec,
            stepsLength: stepsLength, timesLength: timesLength, rawLength: rawLength)
    }
}

/// Encodes blocks. Owns scratch buffers, so one encoder serves many blocks without allocating.
struct BlockEncoder {
    /// The points of a block logged out of order, sorted (a block in order is read in place).
    private var sorted: [MetricPoint] = []
    private var raw: [UInt8] = []
    private var compressedScratch: [UInt8] = []

    /// Appends the block record payload of `points` (in insertion order, 1…maxPoints of them) to
    /// `payload`, and returns the block's header. Points are stored sorted by (step, timestamp),
    /// ties in insertion order.
    mutating func encode(
        key: String, points: [MetricPoint], compress: Bool, into payload: inout [UInt8]
    ) -> BlockHeader {
        precondition(!points.isEmpty && points.count <= BlockHeader.maxPoints, "block of \(points.count) points")
        if Self.isSorted(points) {
            return points.withUnsafeBufferPointer { encode(key: key, sorted: $0, compress: compress, into: &payload) }
        }
        var sorted = self.sorted  // taken out of self for the call below, which mutates self
        self.sorted = []
        defer { self.sorted = sorted }
        sorted.removeAll(keepingCapacity: true)
        let order = points.indices.sorted { a, b in
            (points[a].step, points[a].timestamp, a) < (points[b].step, points[b].timestamp, b)
        }
        for i in order { sorted.append(points[i]) }
        return sorted.withUnsafeBufferPointer { encode(key: key, sorted: $0, compress: compress, into: &payload) }
    }

    /// `encode(key:points:compress:into:)` of points already in (step, timestamp) order: each
    /// column is encoded straight from the points.
    private mutating func encode(
        key: String, sorted points: UnsafeBufferPointer<MetricPoint>, compress: Bool, into payload: inout [UInt8]
    ) -> BlockHeader {
        let count = points.count
        let codec = ValueCodec(float32: ValueColumn.fitsFloat32(points))
        let bound = 2 * IntegerColumn.maxEncodedSize(count) + count * 8
        if raw.count < bound { raw = [UInt8](repeating: 0, count: bound) }
        let (stepsLength, timesLength, rawLength) = raw.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            let stepsLength = IntegerColumn.encode(points, fieldOffset: MetricPoint.stepOffset, to: base)
            let timesLength = IntegerColumn.encode(
                points, fieldOffset: MetricPoint.timestampOffset, to: base + stepsLength)
            ValueColumn.encode(points, codec: codec, to: base + stepsLength + timesLength)
            return (stepsLength, timesLength, stepsLength + timesLength + count * codec.bytesPerValue)
        }
        var compressedLength = 0
        if compress {
            let capacity = LZ4.compressBound(rawLength)
            if compressedScratch.count < capacity { compressedScratch = [UInt8](repeating: 0, count: capacity) }
            compressedLength = raw.withUnsafeBytes { source in
                compressedScratch.withUnsafeMutableBytes { destination in
                    LZ4.compress(UnsafeRawBufferPointer(rebasing: source[..<rawLength]), into: destination)
                }
            }
        }
        // A block LZ4 does not shrink is stored raw.
        let keepCompressed = compressedLength > 0 && compressedLength < rawLength
        let header = BlockHeader(
            key: key, summary: BlockSummary(ofSorted: points), compressed: keepCompressed,
            valueCodec: codec, stepsLength: stepsLength, timesLength: timesLength, rawLength: rawLength)
        header.append(to: &payload)
        if keepCompressed {
            payload.append(contentsOf: compressedScratch[..<compressedLength])
        } else {
            payload.append(contentsOf: raw[..<rawLength])
        }
        return header
    }

    /// Whether `points` are in (step, timestamp) order.
    private static func isSorted(_ points: [MetricPoint]) -> Bool {
        points.withUnsafeBufferPointer { points in
            var previous = points[0]
            for point in points.dropFirst() {
                if point.step < previous.step || (point.step == previous.step && point.timestamp < previous.timestamp) {
                    return false
                }
                previous = point
            }
            return true
        }
    }
}

package enum BlockDecoder {
    /// Decodes the block record payload `payload` into `out`, which has room for the header's count
    /// of points. `scratch` is reused between calls. Returns the header.
    @discardableResult
    package static func decode(
        _ payload: UnsafeRawBufferPointer, scratch: inout [UInt8], into out: UnsafeMutableRawPointer,
        capacity: Int
    ) throws(DecodeError) -> BlockHeader {
        var reader = ByteReader(payload)
        let header = try BlockHeader.read(&reader)
        let count = header.summary.count
        guard count <= capacity else { throw DecodeError("block of \(count) points exceeds room for \(capacity)") }
        let data = try reader.readBytes(reader.remaining, "column data")
        if header.compressed {
            if scratch.count < header.rawLength + 8 { scratch = [UInt8](repeating: 0, count: header.rawLength + 8) }
            try scratch.withUnsafeMutableBytes { buffer in
                Result { () throws(DecodeError) in
                    try LZ4.decompress(data, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<header.rawLength]))
                    try decodeColumns(
                        UnsafeRawBufferPointer(buffer).bindMemory(to: UInt8.self).baseAddress!, limit: buffer.count,
                        header: header, into: out)
                }
            }.get()
        } else {
            guard data.count == header.rawLength else {
                throw DecodeError("raw column data is \(data.count) bytes, header says \(header.rawLength)")
            }
            guard let base = data.bindMemory(to: UInt8.self).baseAddress else { throw DecodeError("empty block data") }
            try decodeColumns(base, limit: data.count, header: header, into: out)
        }
        try checkSummary(header, out)
        return header
    }

    private static func decodeColumns(
        _ bytes: UnsafePointer<UInt8>, limit: Int, header: BlockHeader, into out: UnsafeMutableRawPointer
    ) throws(DecodeError) {
        let count = header.summary.count
        let timesStart = header.stepsLength
        let valuesStart = timesStart + header.timesLength
        try IntegerColumn.decode(
            bytes, start: 0, end: timesStart, limit: limit, count: count, into: out,
            fieldOffset: MetricPoint.stepOffset)
        try IntegerColumn.decode(
            bytes, start: timesStart, end: valuesStart, limit: limit, count: count, into: out,
            fieldOffset: MetricPoint.timestampOffset)
        ValueColumn.decode(bytes + valuesStart, count: count, codec: header.valueCodec, into: out)
    }

    /// A block whose decoded steps disagree with its header is corrupt even when its checksum holds
    /// (it cannot, short of a bug; this keeps a bug from turning into wrong answers).
    private static func checkSummary(_ header: BlockHeader, _ out: UnsafeMutableRawPointer) throws(DecodeError) {
        let points = UnsafeBufferPointer(
            start: out.assumingMemoryBound(to: MetricPoint.self), count: header.summary.count)
        guard points.first == header.summary.first, points.last?.step == header.summary.maxStep else {
            throw DecodeError("decoded steps disagree with the block header")
        }
    }
}
