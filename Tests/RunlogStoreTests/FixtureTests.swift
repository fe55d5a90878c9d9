import RunlogReliability
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

/// The corrupted-segment fixtures in `Fixtures/stores/`, described in `Fixtures/README.md`.
///
/// Each is made from one valid run (`build()`), then damaged in one way. A test rebuilds every
/// fixture and compares it with the checked-in bytes, so an encoder change that alters the format
/// fails here until the fixtures (and FORMAT.md) are updated on purpose:
/// `RUNLOG_WRITE_FIXTURES=1 swift test --filter FixtureTests`.
enum SegmentFixtures {
    static let runID = RunID("00112233445566778899aabbccddeeff")!
    static let names = ["valid", "torn-tail", "bad-crc", "bad-length", "unknown-record-type", "float32"]

    /// The values of the `float32` fixture: each converts to `Float` and back bit for bit, so the
    /// block stores 4-byte values (NaN, -0, infinity, the smallest subnormal float included).
    static let float32Values: [Double] = [
        0.5, -1.25, Double(Float(0.1)), 65504, .infinity, -0.0, Double(Float.leastNonzeroMagnitude), .nan,
    ]
    static var root: String {
        let file = "\(#filePath)"
        let tests = file[..<file.range(of: "/Tests/")!.lowerBound]
        return tests + "/Fixtures/stores"
    }

    /// The valid log: param, loss steps 0…3, loss 4…7, tag, status, loss 8…9 (blocks of 4 points).
    static func build() throws -> (bytes: [UInt8], records: [(type: RecordType, offset: Int, end: Int)]) {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 4))
        let writer = try store.createRun(runID)
        try writer.append(.param(key: "lr", value: "0.1", timestamp: 1_700_000_000_000))
        for i in 0..<8 {
            try writer.log(
                "loss", step: Int64(i), timestamp: 1_700_000_000_000 + 100 * Int64(i), value: 1 / Double(i + 1))
        }
        try writer.append(.tag(key: "phase", value: "train", timestamp: 1_700_000_000_001))
        try writer.flush()
        // A status record seals what is staged before it: the last block is logged after it.
        try writer.append(.status(.finished, timestamp: 1_700_000_000_002))
        for i in 8..<10 {
            try writer.log(
                "loss", step: Int64(i), timestamp: 1_700_000_000_000 + 100 * Int64(i), value: 1 / Double(i + 1))
        }
        try writer.close()
        let bytes = try readFile(try segmentPaths(store, runID)[0])
        return (bytes, recordBoundaries(bytes))
    }

    /// A run of one uncompressed block of `float32Values` (steps 0…7), so the fixture's bytes show
    /// the 4-byte value layout itself.
    static func buildFloat32() throws -> [UInt8] {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(compression: false, blockPoints: 8))
        let writer = try store.createRun(runID)
        for (step, value) in float32Values.enumerated() {
            try writer.log("loss", step: Int64(step), timestamp: 1_700_000_000_000 + Int64(step), value: value)
        }
        try writer.close()
        return try readFile(try segmentPaths(store, runID)[0])
    }

    static func make(_ name: String) throws -> [UInt8] {
        if name == "float32" { return try buildFloat32() }
        let (bytes, records) = try build()
        let secondBlock = records.filter { $0.type == .block }[1]
        var damaged = bytes
        switch name {
        case "valid":
            break
        case "torn-tail":
            let last = records.last!
            damaged = Array(bytes[..<(last.offset + (last.end - last.offset) / 2)])
        case "bad-crc":
            damaged[secondBlock.offset + RecordFrame.headerSize + 20] ^= 0x01
        case "bad-length":
            for i in 0..<4 { damaged[secondBlock.offset + 4 + i] = 0xFF }
        case "unknown-record-type":
            var unknown: [UInt8] = []
            RecordFrame.append(type: .block, payload: Array("written by a newer Runlog".utf8), to: &unknown)
            unknown[8] = 200
            let crc = unknown.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { unknown[i] = $0[i] } }
            damaged.insert(contentsOf: unknown, at: records[0].end)
        default:
            preconditionFailure("no fixture \(name)")
        }
        return damaged
    }

    /// The segment of fixture `name`, or of the store at `store`.
    static func segmentPath(_ name: String) -> String { segmentPath(store: "\(root)/\(name)") }
    static func segmentPath(store: String) -> String { "\(store)/runs/\(runID)/00000001.segment" }
}

@Suite struct FixtureTests {
    @Test(arguments: SegmentFixtures.names)
    func checkedInFixturesMatchTheEncoder(name: String) throws {
        let bytes = try SegmentFixtures.make(name)
        let path = SegmentFixtures.segmentPath(name)
        if getenv("RUNLOG_WRITE_FIXTURES") != nil {
            let fs = PosixFileSystem()
            let store = "\(SegmentFixtures.root)/\(name)"
            for directory in [SegmentFixtures.root, store, store + "/runs", store + "/runs/\(SegmentFixtures.runID)"] {
                try fs.createDirectory(directory)
            }
            try writeFile(store + "/STORE", Array("runlog store format 1\n".utf8))
            try writeFile(path, bytes)
        }
        #expect(try readFile(path) == bytes, "the encoder no longer produces Fixtures/stores/\(name); see FixtureTests")
    }

    /// Copies a fixture store to a temporary directory (opening a writer would repair it in place).
    func open(_ name: String, in directory: TemporaryDirectory) throws -> Store {
        let fs = PosixFileSystem()
        for sub in ["", "/runs", "/runs/\(SegmentFixtures.runID)"] { try fs.createDirectory(directory.store + sub) }
        try writeFile(directory.store + "/STORE", try readFile("\(SegmentFixtures.root)/\(name)/STORE"))
        try writeFile(
            SegmentFixtures.segmentPath(store: directory.store), try readFile(SegmentFixtures.segmentPath(name)))
        return try Store.open(at: directory.store, create: false)
    }

    let allRecords: [RunRecord] = [
        .param(key: "lr", value: "0.1", timestamp: 1_700_000_000_000),
        .tag(key: "phase", value: "train", timestamp: 1_700_000_000_001),
        .status(.finished, timestamp: 1_700_000_000_002),
    ]

    @Test func validDecodesToEverything() throws {
        let directory = TemporaryDirectory()
        let store = try open("valid", in: directory)
        let reader = try store.openReader(SegmentFixtures.runID)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<10))
        #expect(try reader.scan("loss").map(\.value) == (0..<10).map { 1 / Double($0 + 1) })
        #expect(reader.index.records == allRecords)
        #expect(reader.problems.isEmpty && reader.tornTail == nil)
    }

    @Test func tornTailEndsTheLogAndTheNextWriterTruncatesIt() throws {
        let directory = TemporaryDirectory()
        let store = try open("torn-tail", in: directory)
        let reader = try store.openReader(SegmentFixtures.runID)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<8))
        #expect(reader.index.records == allRecords)
        #expect(reader.problems.isEmpty)
        let torn = try #require(reader.tornTail)
        let report = try store.verify(SegmentFixtures.runID)
        #expect(report.isClean && report.tornTail == torn)
        let writer = try store.openWriter(SegmentFixtures.runID)
        #expect(writer.recovery.truncatedTail == torn)
        try writer.close()
        #expect(try store.openReader(SegmentFixtures.runID).tornTail == nil)
        #expect(try readFile(SegmentFixtures.segmentPath(store: store.path)).count == Int(torn.offset))
    }

    @Test(arguments: [("bad-crc", "checksum mismatch"), ("bad-length", "exceeds the limit")])
    func aBadRecordIsReportedAndSkipped(name: String, reason: String) throws {
        let directory = TemporaryDirectory()
        let store = try open(name, in: directory)
        let (_, records) = try SegmentFixtures.build()
        let secondBlock = records.filter { $0.type == .block }[1]
        let reader = try store.openReader(SegmentFixtures.runID)
        #expect(try reader.scan("loss").map(\.step) == [0, 1, 2, 3, 8, 9])
        #expect(reader.index.records == allRecords)
        #expect(reader.problems.count == 1)
        let problem = try #require(reader.problems.first)
        #expect(problem.kind == .corruptRecord)
        #expect(
            problem.location
                == DiskLocation(file: SegmentFixtures.segmentPath(store: store.path), offset: Int64(secondBlock.offset))
        )
        #expect(problem.detail.contains(reason))
        #expect(try !store.verify(SegmentFixtures.runID).isClean)
    }

    @Test func theFloat32FixtureDecodesBitForBitFromFourByteValues() throws {
        let directory = TemporaryDirectory()
        let store = try open("float32", in: directory)
        let reader = try store.openReader(SegmentFixtures.runID)
        let points = try reader.scan("loss")
        #expect(points.map(\.value.bitPattern) == SegmentFixtures.float32Values.map(\.bitPattern))
        #expect(reader.index.series("loss")?.blocks.count == 1)
        // The checked-in bytes hold the layout FORMAT.md gives, computed here on its own: value
        // codec 1, and the values as 4 byte planes of their binary32 bits (plane b holds byte b of
        // each value, least significant first), after the steps and timestamps columns.
        let bytes = try readFile(SegmentFixtures.segmentPath("float32"))
        let block = 36 + RecordFrame.headerSize  // the segment header, the record's frame
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        #expect(bytes[block + 106] == 0 && bytes[block + 107] == 1, "uncompressed, value codec float32")
        let (steps, times, raw) = (u32(block + 108), u32(block + 112), u32(block + 116))
        let values = SegmentFixtures.float32Values
        #expect(raw == steps + times + values.count * 4)
        let column = Array(bytes[(block + 120 + steps + times)..<(block + 120 + raw)])
        let expected = (0..<4).flatMap { plane in
            values.map { UInt8(truncatingIfNeeded: Float($0).bitPattern >> UInt32(8 * plane)) }
        }
        #expect(column == expected)
    }

    @Test func anUnknownRecordTypeIsANoticeAndSkipped() throws {
        let directory = TemporaryDirectory()
        let store = try open("unknown-record-type", in: directory)
        let reader = try store.openReader(SegmentFixtures.runID)
        #expect(try reader.scan("loss").map(\.step) == Array(0..<10))
        #expect(reader.index.records == allRecords)
        #expect(reader.problems.map(\.kind) == [.unknownRecordType])
        #expect(reader.problems.first?.detail.contains("record type 200") == true)
        #expect(try store.verify(SegmentFixtures.runID).isClean)
    }
}
