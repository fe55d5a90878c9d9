import RunlogReliability
import RunlogWorkloads
import Testing

@testable import RunlogStore

@Suite struct CRC32CTests {
    @Test func matchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.softwareChecksum($0) } == 0xE306_9283)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func hardwareAndTablesMatchBitwise(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for length in 0..<300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0x82F6_3B78 : 0) }
            }
            #expect(CRC32C.checksum(bytes) == ~crc, "seed \(seed), length \(length)")
            #expect(bytes.withUnsafeBytes { CRC32C.softwareChecksum($0) } == ~crc, "seed \(seed), length \(length)")
            let split = length / 3
            let continued = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(
                    UnsafeRawBufferPointer(rebasing: raw[split...]),
                    continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<split])))
            }
            #expect(continued == ~crc, "seed \(seed), length \(length)")
        }
    }

    /// Long buffers go through the instruction in three interleaved lanes joined after each round
    /// of 3 × 256 bytes: every length around those rounds, at every alignment, against the tables.
    @Test func interleavedLanesMatchTheTables() {
        var random = SeededRandom(seed: 4)
        let bytes = (0..<5_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var lengths = Array(760...776) + Array(1530...1546) + [2303, 2304, 2305, 4999 - 7]
        lengths += (0..<40).map { _ in Int(random.next() % 4_990) }
        bytes.withUnsafeBytes { raw in
            for length in lengths {
                for offset in 0..<8 {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                    let start = UInt32(truncatingIfNeeded: random.next())
                    #expect(
                        CRC32C.checksum(slice, continuing: start) == CRC32C.softwareChecksum(slice, continuing: start),
                        "length \(length), offset \(offset)")
                }
            }
        }
    }
}

@Suite struct UTF8ValidationTests {
    func agrees(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            String(validatingUTF8Bytes: raw) == String(validating: raw, as: UTF8.self)
        }
    }

    @Test func answersAsTheStandardLibraryDoes() {
        let cases: [[UInt8]] = [
            [], Array("loss".utf8), Array("val/accuracy μ 学習 🚀".utf8), [0], [0x41, 0, 0x42],
            [0xEF, 0xBF, 0xBD],  // U+FFFD itself is valid
            [0x80], [0xBF, 0x41], [0xC0, 0x80], [0xC1, 0xBF], [0xC2], [0xC2, 0x41], [0xE0, 0x80, 0x80],
            [0xE0, 0xA0], [0xED, 0xA0, 0x80], [0xF0, 0x90, 0x80], [0xF0, 0x90, 0x80, 0x41],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFE], [0xFF, 0xFF],
            Array("ok".utf8) + [0xE2, 0x82], [0xEF, 0xBF, 0xBD, 0xFF],
        ]
        for bytes in cases { #expect(agrees(bytes), "\(bytes)") }
        #expect(cases.filter { $0.withUnsafeBytes { String(validatingUTF8Bytes: $0) == nil } }.count == 17)
        // Random short strings, most of them with bytes at and above 0x80.
        var random = SeededRandom(seed: 7)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 9)
            let bytes = (0..<count).map { _ in
                let r = random.next()
                return r % 4 == 0 ? UInt8(truncatingIfNeeded: r >> 8) & 0x7F : UInt8(truncatingIfNeeded: r >> 8) | 0x80
            }
            #expect(agrees(bytes), "\(bytes)")
        }
    }
}

@Suite struct ZigZagTests {
    @Test(arguments: [7, 8] as [UInt64])
    func zigzagRoundTripsAndKeepsSmallValuesSmall(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let values: [Int64] =
            [0, 1, -1, 63, -64, 64, .max, .min, .max - 1, .min + 1]
            + (0..<2000).map { _ in Int64(bitPattern: random.next()) >> (random.next() % 64) }
        for value in values {
            #expect(ZigZag.decode(ZigZag.encode(value)) == value, "seed \(seed)")
            // One bit more than the magnitude needs, for the sign.
            #expect(64 - ZigZag.encode(value).leadingZeroBitCount <= 65 - value.magnitude.leadingZeroBitCount)
        }
        #expect([0, -1, 1, -2, 2].map(ZigZag.encode) == [0, 1, 2, 3, 4])
    }
}

@Suite struct RunRecordTests {
    func decode(_ type: RecordType, _ bytes: [UInt8]) throws -> RunRecord {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in try RunRecord.decode(type: type, payload: raw) }
        }.get()
    }

    @Test func truncatedRecordPayloadsAreErrorsAtEverySplit() throws {
        let records: [RunRecord] = [
            .param(key: "lr", value: "0.001", timestamp: 1), .tag(key: "ü", value: "", timestamp: -1),
            .input(name: "data", value: String(repeating: "x", count: 300), timestamp: 3),
            .status(.killed, timestamp: 4),
        ]
        for record in records {
            let payload = record.payload()
            #expect(try decode(record.type, payload) == record)
            for cut in 0..<payload.count {
                #expect(throws: DecodeError.self, "\(record) cut at \(cut)") {
                    try decode(record.type, Array(payload[..<cut]))
                }
            }
            #expect(throws: DecodeError.self) { try decode(record.type, payload + [0]) }
        }
        #expect(throws: DecodeError.self) { try decode(.status, [0, 0, 0, 0, 0, 0, 0, 0, 9]) }
        #expect(throws: DecodeError.self) { try decode(.tag, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0xFF, 0, 0, 0, 0]) }
    }
}

@Suite struct IntegerColumnTests {
    /// Encodes and decodes `values`; `slack` readable bytes past the column's end, as a
    /// decompressed block has, let the decoder take its word-at-a-time paths to the last value.
    func roundTrip(_ values: [Int64], slack: Int = 0) throws -> [Int64] {
        var encoded = [UInt8](repeating: 0, count: IntegerColumn.maxEncodedSize(values.count) + slack)
        let length = encoded.withUnsafeMutableBufferPointer { out in
            values.withUnsafeBufferPointer { IntegerColumn.encode($0, to: out.baseAddress!) }
        }
        var points = [MetricPoint](repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: values.count)
        try encoded.withUnsafeBufferPointer { bytes in
            try points.withUnsafeMutableBytes { raw in
                try IntegerColumn.decode(
                    bytes.baseAddress!, start: 0, end: length, limit: length + slack, count: values.count,
                    into: raw.baseAddress!, fieldOffset: MetricPoint.timestampOffset)
            }
        }
        return points.map(\.timestamp)
    }

    /// The decoder unpacks narrow miniblocks eight values at a time with the width a constant,
    /// others a value at a time, and the column's last bytes byte by byte: every width 1…64, with
    /// miniblocks whole and cut short at every remainder of eight, with and without slack.
    @Test func everyWidthRoundTripsOnEveryPath() throws {
        var random = SeededRandom(seed: 41)
        for width in 1...64 {
            for tail in [0, 1, 3, 7, 8, 9, 15, 127] {
                let count = 2 + 128 * 2 + tail
                // Delta-of-deltas whose zigzag form is exactly `width` bits wide in each miniblock.
                var value = Int64(bitPattern: random.next())
                var delta = Int64(bitPattern: random.next())
                var values = [value, value &+ delta]
                value &+= delta
                for i in 2..<count {
                    let mask = width == 64 ? UInt64.max : (1 << UInt64(width)) - 1
                    var z = random.next() & mask
                    if (i - 2) % 128 == 5 { z |= 1 << UInt64(width - 1) }
                    // The widest negative and positive delta-of-delta of the width.
                    if (i - 2) % 128 == 6 { z = mask }
                    if (i - 2) % 128 == 7 { z = mask - 1 }
                    delta &+= ZigZag.decode(z)
                    value &+= delta
                    values.append(value)
                }
                for slack in [0, 8] {
                    #expect(
                        try roundTrip(values, slack: slack) == values, "width \(width), tail \(tail), slack \(slack)")
                }
            }
        }
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func randomColumnsRoundTrip(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<40 {
            let count = Int(random.next() % 700)
            let shift = random.next() % 64
            var value = Int64(bitPattern: random.next())
            let values: [Int64] = (0..<count).map { _ in
                value &+= Int64(bitPattern: random.next()) >> shift
                return random.next() % 50 == 0 ? [Int64.min, .max][Int(random.next() % 2)] : value
            }
            #expect(try roundTrip(values) == values, "seed \(seed)")
        }
    }

    /// The bit writer stores a 64-bit word at a time; its bytes are those of writing each value
    /// a bit at a time, low bits first, for every width and every alignment the words cross.
    @Test(arguments: [31, 32] as [UInt64])
    func theBitWriterWritesTheBitsOneAtATimeWould(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let count = Int(random.next() % 300)
            let widths = (0..<count).map { _ in 1 + Int(random.next() % 64) }
            let values = widths.map { width in
                width == 64 ? random.next() : random.next() & ((1 << UInt64(width)) - 1)
            }
            var expected: [UInt8] = [0xAA]  // a byte before the stream, left alone
            var bit = 0
            for (value, width) in zip(values, widths) {
                for b in 0..<width {
                    if bit % 8 == 0 { expected.append(0) }
                    expected[expected.count - 1] |= UInt8((value >> UInt64(b)) & 1) << UInt8(bit % 8)
                    bit += 1
                }
            }
            var out = [UInt8](repeating: 0xAA, count: expected.count + 16)
            let end = out.withUnsafeMutableBufferPointer { buffer in
                var writer = BitWriter(out: buffer.baseAddress!, position: 1)
                for (value, width) in zip(values, widths) { writer.put(value, width: width) }
                return writer.finish()
            }
            #expect(end == expected.count, "seed \(seed)")
            #expect(Array(out[..<end]) == expected, "seed \(seed)")
            #expect(out[end...].allSatisfy { $0 == 0xAA }, "nothing written past the stream")
        }
    }

    @Test func regularStepsCostNoBitsPerPoint() throws {
        let values = (0..<10_000).map { Int64($0) * 10 + 5 }
        var encoded = [UInt8](repeating: 0, count: IntegerColumn.maxEncodedSize(values.count))
        let length = encoded.withUnsafeMutableBufferPointer { out in
            values.withUnsafeBufferPointer { IntegerColumn.encode($0, to: out.baseAddress!) }
        }
        // 16 bytes of first value and delta, then one width byte per 128-value miniblock.
        #expect(length == 16 + (values.count - 2 + 127) / 128)
        #expect(try roundTrip(values) == values)
    }

    @Test func truncatedColumnsAreErrorsAtEverySplit() throws {
        var random = SeededRandom(seed: 5)
        let values = (0..<300).map { _ in Int64(random.next() % 1000) }
        var encoded = [UInt8](repeating: 0, count: IntegerColumn.maxEncodedSize(values.count))
        let length = encoded.withUnsafeMutableBufferPointer { out in
            values.withUnsafeBufferPointer { IntegerColumn.encode($0, to: out.baseAddress!) }
        }
        var points = [MetricPoint](repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: values.count)
        for cut in 0..<length {
            let prefix = Array(encoded[..<cut])
            _ = prefix.withUnsafeBufferPointer { bytes in
                points.withUnsafeMutableBytes { raw in
                    #expect(throws: DecodeError.self, "cut at \(cut)") {
                        try IntegerColumn.decode(
                            bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, start: 0, end: cut, limit: cut,
                            count: values.count, into: raw.baseAddress!, fieldOffset: 0)
                    }
                }
            }
        }
    }
}

/// The value decoder gathers 16 values at a time with vector instructions and the rest one at a
/// time; both give the bits of gathering each value's bytes from its planes by hand, for any bits
/// (float32 NaN payloads, subnormals and infinities widened as `Double(Float)` widens them).
@Suite struct ValueColumnTests {
    func decode(_ planes: [UInt8], count: Int, float32: Bool) -> [UInt64] {
        var points = [MetricPoint](repeating: MetricPoint(step: 1, timestamp: 2, value: 3), count: count)
        planes.withUnsafeBufferPointer { bytes in
            points.withUnsafeMutableBytes { raw in
                ValueColumn.decode(
                    bytes.baseAddress!, count: count, codec: ValueCodec(float32: float32), into: raw.baseAddress!)
            }
        }
        #expect(points.allSatisfy { $0.step == 1 && $0.timestamp == 2 }, "only the value field is written")
        return points.map(\.value.bitPattern)
    }

    @Test(arguments: [false, true])
    func anyBitsDecodeAsGatheringEachValueByHand(float32: Bool) {
        var random = SeededRandom(seed: 51)
        let width = float32 ? 4 : 8
        for count in Array(0...40) + [255, 256, 257, 4096] {
            var planes = (0..<(count * width + 1)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if float32 && count > 3 {
                // A quiet NaN with a payload, a signalling one, a subnormal, an infinity.
                let special: [UInt32] = [0x7FC0_1234, 0x7F80_0001, 0x0000_0007, 0xFF80_0000]
                for (i, bits) in special.enumerated() {
                    for k in 0..<4 { planes[k * count + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
                }
            }
            let expected: [UInt64] = (0..<count).map { i in
                var bits: UInt64 = 0
                for k in 0..<width { bits |= UInt64(planes[k * count + i]) << (8 * UInt64(k)) }
                return float32 ? Double(Float(bitPattern: UInt32(bits))).bitPattern : bits
            }
            let decoded = decode(planes, count: count, float32: float32)
            let wrong = decoded.indices.first { decoded[$0] != expected[$0] }
            #expect(wrong == nil, "count \(count): value \(wrong ?? 0) decodes wrong")
        }
    }
}

@Suite struct BlockCodecTests {
    func encode(_ points: [MetricPoint], compress: Bool) -> (BlockHeader, [UInt8]) {
        var encoder = BlockEncoder()
        var payload: [UInt8] = []
        let header = encoder.encode(key: "loss", points: points, compress: compress, into: &payload)
        return (header, payload)
    }

    func decode(_ payload: [UInt8], capacity: Int) throws -> [MetricPoint] {
        var scratch: [UInt8] = []
        var out = [MetricPoint](repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: capacity)
        let header = try payload.withUnsafeBytes { raw in
            try out.withUnsafeMutableBytes { buffer in
                try BlockDecoder.decode(raw, scratch: &scratch, into: buffer.baseAddress!, capacity: capacity)
            }
        }
        return Array(out[..<header.summary.count])
    }

    @Test(arguments: [(21, true), (22, false), (23, true), (24, false)] as [(UInt64, Bool)])
    func randomBlocksRoundTripSorted(seed: UInt64, compress: Bool) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<30 {
            let points = randomPoints(count: 1 + Int(random.next() % 2000), &random)
            let (header, payload) = encode(points, compress: compress)
            let decoded = try decode(payload, capacity: points.count)
            #expect(decoded == expectedScan(points), "seed \(seed)")
            #expect(header.summary.count == points.count)
        }
    }

    /// Counts that are not whole groups of the value decoder's 16, as well as a whole block.
    @Test(arguments: [1, 255, 257, 4096])
    func float32PrecisionValuesUseTheNarrowCodecAndStayExact(count: Int) throws {
        let points = TrainingCurves.series(.loss, count: count, seed: 3).map {
            MetricPoint(step: $0.step, timestamp: $0.timestamp, value: $0.value)
        }
        let (header, payload) = encode(points, compress: true)
        #expect(header.valueCodec.float32)
        #expect(try decode(payload, capacity: points.count) == points)
        // A single value that float32 cannot hold switches the block to 64-bit values.
        var wide = points
        wide[count / 2].value = 0.1
        let (wideHeader, widePayload) = encode(wide, compress: true)
        #expect(!wideHeader.valueCodec.float32)
        #expect(try decode(widePayload, capacity: wide.count) == wide)
    }

    @Test func summaryHoldsRangesExtremesAndLatest() {
        let points = [
            MetricPoint(step: 5, timestamp: 50, value: 1), MetricPoint(step: 2, timestamp: 90, value: .nan),
            MetricPoint(step: 5, timestamp: 50, value: 3), MetricPoint(step: 3, timestamp: 10, value: -2),
        ]
        let (header, _) = encode(points, compress: true)
        let summary = header.summary
        #expect(summary.count == 4)
        #expect(summary.minStep == 2 && summary.maxStep == 5)
        #expect(summary.minTimestamp == 10 && summary.maxTimestamp == 90)
        #expect(summary.minValue == -2 && summary.maxValue == 3)
        #expect(summary.latest == MetricPoint(step: 5, timestamp: 50, value: 3))
        #expect(summary.first == MetricPoint(step: 2, timestamp: 90, value: .nan))
    }

    /// The encoder summarises a block from its sorted points' ends and one pass; that equals the
    /// point-by-point summary, NaN, infinities, signed zeros and equal (step, timestamp) included.
    @Test(arguments: [41, 42, 43] as [UInt64])
    func theSortedSummaryEqualsThePointByPointOne(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1]
        for _ in 0..<300 {
            let count = 1 + Int(random.next() % 40)
            var points = (0..<count).map { _ in
                MetricPoint(
                    step: Int64(random.next() % 6), timestamp: Int64(random.next() % 3),
                    value: random.next() % 3 == 0
                        ? specials[Int(random.next() % UInt64(specials.count))] : Double(random.next() % 5))
            }
            if random.next() % 4 == 0 {
                points = points.map { MetricPoint(step: $0.step, timestamp: $0.timestamp, value: .nan) }
            }
            let sorted = points.enumerated().sorted {
                ($0.element.step, $0.element.timestamp, $0.offset) < ($1.element.step, $1.element.timestamp, $1.offset)
            }.map(\.element)
            let (fast, slow) = sorted.withUnsafeBufferPointer { (BlockSummary(ofSorted: $0), BlockSummary(of: $0)) }
            #expect(fast == slow, "seed \(seed): \(sorted)")
        }
    }

    @Test func incompressibleBlocksAreStoredRaw() throws {
        var random = SeededRandom(seed: 9)
        let points = (0..<64).map { i in
            MetricPoint(
                step: Int64(bitPattern: random.next()), timestamp: Int64(bitPattern: random.next()),
                value: Double(bitPattern: random.next()))
        }
        let (header, payload) = encode(points, compress: true)
        #expect(!header.compressed)
        #expect(payload.count == BlockHeader.fixedSize + "loss".utf8.count + header.rawLength)
        #expect(try decode(payload, capacity: points.count) == expectedScan(points))
    }

    @Test(arguments: [true, false])
    func truncatedBlocksAreErrorsAtEverySplit(compress: Bool) throws {
        var random = SeededRandom(seed: 31)
        let points = randomPoints(count: 200, &random)
        let (_, payload) = encode(points, compress: compress)
        for cut in 0..<payload.count {
            #expect(throws: DecodeError.self, "cut at \(cut)") {
                try decode(Array(payload[..<cut]), capacity: points.count)
            }
        }
    }

    @Test func damagedBlockDataNeverCrashes() throws {
        var random = SeededRandom(seed: 32)
        let points = randomPoints(count: 500, &random)
        for compress in [true, false] {
            let (_, payload) = encode(points, compress: compress)
            for _ in 0..<2000 {
                var damaged = payload
                let headerSize = BlockHeader.fixedSize + 4
                let index = headerSize + Int(random.next() % UInt64(payload.count - headerSize))
                damaged[index] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                // Either an error or some points: never a crash or an out-of-bounds access.
                _ = try? decode(damaged, capacity: points.count)
            }
        }
    }

    @Test func lz4RejectsMalformedInput() throws {
        var random = SeededRandom(seed: 33)
        var output = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1000 {
            let garbage = (0..<Int(1 + random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = garbage.withUnsafeBytes { source in
                output.withUnsafeMutableBytes { destination in
                    #expect(throws: DecodeError.self) { try LZ4.decompress(source, into: destination) }
                }
            }
        }
    }
}
