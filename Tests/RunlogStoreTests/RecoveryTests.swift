import RunlogReliability
import RunlogWorkloads
import Testing

@testable import RunlogStore

/// A small run written once, and the record boundaries of its single segment.
struct SmallLog {
    let directory = TemporaryDirectory()
    let store: Store
    let run: RunID
    let segment: String
    let bytes: [UInt8]
    /// (type, offset, end) of each record.
    let records: [(type: RecordType, offset: Int, end: Int)]

    init(blockPoints: Int = 4, indexSnapshots: Bool = false) throws {
        store = try Store.open(
            at: directory.store, options: storeOptions(blockPoints: blockPoints, indexSnapshots: indexSnapshots))
        let writer = try store.createRun()
        run = writer.runID
        try writer.append(.param(key: "lr", value: "0.1", timestamp: 1))
        for i in 0..<10 { try writer.log("loss", step: Int64(i), timestamp: Int64(100 + i), value: 1 / Double(i + 1)) }
        try writer.append(.tag(key: "phase", value: "train", timestamp: 2))
        for i in 0..<3 { try writer.log("acc", step: Int64(i), timestamp: Int64(100 + i), value: Double(i) / 3) }
        try writer.append(.status(.finished, timestamp: 3))
        try writer.close()
        segment = try segmentPaths(store, run)[0]
        bytes = try readFile(segment)
        records = recordBoundaries(bytes)
    }

    /// What a reader must see when only the records ending at or before `cut` survive.
    func expected(upTo cut: Int) throws -> (records: [RunRecord], points: [String: [MetricPoint]]) {
        var index = RunIndex()
        var points: [String: [MetricPoint]] = [:]
        for record in records where record.end <= cut {
            try bytes.withUnsafeBytes { raw in
                let payload = UnsafeRawBufferPointer(
                    rebasing: raw[(record.offset + RecordFrame.headerSize)..<record.end])
                #expect(index.apply(record.type, segment: 1, offset: Int64(record.offset), payload: payload) == nil)
                if record.type == .block {
                    var scratch: [UInt8] = []
                    var out = [MetricPoint](
                        repeating: MetricPoint(step: 0, timestamp: 0, value: 0), count: BlockHeader.maxPoints)
                    let header = try out.withUnsafeMutableBytes {
                        try BlockDecoder.decode(
                            payload, scratch: &scratch, into: $0.baseAddress!, capacity: BlockHeader.maxPoints)
                    }
                    points[header.key, default: []].append(contentsOf: out[..<header.summary.count])
                }
            }
        }
        return (index.records, points)
    }

    func check(
        _ reader: RunReader, against expected: (records: [RunRecord], points: [String: [MetricPoint]]), _ note: Comment
    ) throws {
        #expect(reader.index.records == expected.records, note)
        #expect(Set(reader.index.keys) == Set(expected.points.keys), note)
        for (key, points) in expected.points {
            #expect(try reader.scan(key) == points, note)
        }
    }
}

@Suite struct RecoveryTests {
    @Test func aLogCutAtEveryOffsetReopensWithExactlyTheCompleteRecords() throws {
        let log = try SmallLog()
        #expect(log.records.count == 7)  // param, 2 full loss blocks, tag, status, loss and acc remainders
        let boundaries = Set([0, SegmentHeader.size] + log.records.map(\.end))
        for cut in 0...log.bytes.count {
            try writeFile(log.segment, Array(log.bytes[..<cut]))
            let reader = try log.store.openReader(log.run)
            let note: Comment = "cut at \(cut)"
            try log.check(reader, against: try log.expected(upTo: cut), note)
            #expect(reader.problems.isEmpty, note)
            #expect((reader.tornTail == nil) == boundaries.contains(cut), note)
            if let torn = reader.tornTail {
                let lastEnd =
                    cut < SegmentHeader.size
                    ? 0 : log.records.map(\.end).filter { $0 <= cut }.max() ?? SegmentHeader.size
                #expect(torn.offset == Int64(lastEnd), note)
                #expect(torn.byteCount == Int64(cut - lastEnd), note)
                #expect(torn.file == log.segment, note)
            }
            #expect(try log.store.verify(log.run).isClean, note)
        }
    }

    @Test func theNextWriterTruncatesATornTailAndReportsIt() throws {
        let log = try SmallLog()
        for cut in stride(from: 1, to: log.bytes.count, by: 5) {
            try writeFile(log.segment, Array(log.bytes[..<cut]))
            let note: Comment = "cut at \(cut)"
            let writer = try log.store.openWriter(log.run)
            let lastEnd =
                cut < SegmentHeader.size ? 0 : log.records.map(\.end).filter { $0 <= cut }.max() ?? SegmentHeader.size
            if cut == lastEnd {
                #expect(writer.recovery.truncatedTail == nil, note)
            } else {
                #expect(writer.recovery.truncatedTail?.offset == Int64(lastEnd), note)
                #expect(writer.recovery.truncatedTail?.byteCount == Int64(cut - lastEnd), note)
                #expect(writer.recovery.truncatedTail?.file == log.segment, note)
            }
            try writer.log("after", step: 1, timestamp: 1, value: 42)
            try writer.close()
            let reader = try log.store.openReader(log.run)
            var expected = try log.expected(upTo: cut)
            expected.points["after"] = [MetricPoint(step: 1, timestamp: 1, value: 42)]
            try log.check(reader, against: expected, note)
            #expect(reader.problems.isEmpty && reader.tornTail == nil, note)
        }
    }

    @Test func aDamagedLastRecordIsKeptAndTheNextWriterStartsANewSegment() throws {
        let log = try SmallLog()
        var damaged = log.bytes
        let last = log.records.last!
        damaged[last.end - 1] ^= 0x40
        try writeFile(log.segment, damaged)
        let writer = try log.store.openWriter(log.run)
        #expect(writer.recovery.truncatedTail == nil)
        #expect(writer.recovery.problems.map(\.kind) == [.corruptRecord])
        try writer.log("after", step: 1, timestamp: 1, value: 42)
        try writer.close()
        // The damaged bytes are still there, the new point is in a new segment, verify says so.
        #expect(try readFile(log.segment) == damaged)
        #expect(try segmentPaths(log.store, log.run).count == 2)
        let reader = try log.store.openReader(log.run)
        #expect(try reader.scan("after").map(\.value) == [42])
        let report = try log.store.verify(log.run)
        #expect(!report.isClean)
        #expect(report.problems.map(\.location) == [DiskLocation(file: log.segment, offset: Int64(last.offset))])
    }

    @Test func zerosToTheEndOfTheLogAreATornTailNotDamage() throws {
        // What a power cut can leave after the file's size was extended: allocated, never written.
        let log = try SmallLog()
        try writeFile(log.segment, log.bytes + [UInt8](repeating: 0, count: 5000))
        let reader = try log.store.openReader(log.run)
        #expect(reader.problems.isEmpty)
        #expect(reader.tornTail?.offset == Int64(log.bytes.count))
        #expect(reader.tornTail?.reason == "zero-filled to the end of the file")
        let writer = try log.store.openWriter(log.run)
        #expect(writer.recovery.truncatedTail?.byteCount == 5000)
        try writer.close()
        #expect(try readFile(log.segment) == log.bytes)
    }

    @Test func zerosOverTheEndASnapshotCoveredAreReportedByVerify() throws {
        // Zeros from the start of the last record to the end read as a torn tail; the snapshot a
        // closed writer left knows the log went further.
        let log = try SmallLog(indexSnapshots: true)
        let last = log.records.last!
        try writeFile(
            log.segment, Array(log.bytes[..<last.offset]) + [UInt8](repeating: 0, count: last.end - last.offset))
        let report = try log.store.verify(log.run)
        #expect(report.tornTail?.offset == Int64(last.offset))
        #expect(report.problems.map(\.kind) == [.truncatedSegment])
        #expect(!report.isClean)
    }

    @Test func aSegmentShorterThanItsSnapshotRecordedIsReportedByVerify() throws {
        let log = try SmallLog(indexSnapshots: true)
        // The writer's close saved a snapshot covering the whole segment; cut the segment at a
        // record boundary, which the log alone cannot tell from a shorter log.
        let cut = log.records[log.records.count - 2].end
        try writeFile(log.segment, Array(log.bytes[..<cut]))
        let report = try log.store.verify(log.run)
        #expect(!report.isClean)
        #expect(report.problems.map(\.kind) == [.truncatedSegment])
        #expect(report.problems.first?.location == DiskLocation(file: log.segment, offset: Int64(cut)))
    }

    // Byte 6 is the header's reserved field, outside the payload checksum: the corruption
    // campaign found a flip there went unreported.
    @Test(arguments: [6, 7, 20, -1])
    func aDamagedIndexSnapshotIsReportedByVerifyAndNotUsed(position: Int) throws {
        let log = try SmallLog(indexSnapshots: true)
        let snapshot = log.store.directory(of: log.run) + "/INDEX"
        var bytes = try readFile(snapshot)
        bytes[position >= 0 ? position : bytes.count / 2] ^= 1
        try writeFile(snapshot, bytes)
        let reader = try log.store.openReader(log.run)
        #expect(!reader.openedFromSnapshot)
        try log.check(reader, against: try log.expected(upTo: log.bytes.count), "damaged snapshot")
        let report = try log.store.verify(log.run)
        #expect(report.problems.map(\.kind) == [.damagedIndexSnapshot])
        #expect(!report.isClean)
    }

    @Test func aFlippedByteInEachRecordIsDetectedAndOnlyThatRecordIsLost() throws {
        let log = try SmallLog()
        var random = SeededRandom(seed: 77)
        for (k, record) in log.records.enumerated() {
            for position in record.offset..<record.end {
                var damaged = log.bytes
                damaged[position] ^= UInt8(1 << (random.next() % 8))
                try writeFile(log.segment, damaged)
                let note: Comment = "record \(k) (\(record.type)), byte \(position)"
                let reader = try log.store.openReader(log.run)
                // The last record too: a whole record failing its checksum (or with only its length
                // damaged) is corruption, never mistaken for a torn write.
                #expect(reader.tornTail == nil, note)
                #expect(reader.problems.count == 1, note)
                #expect(
                    reader.problems.first?.location == DiskLocation(file: log.segment, offset: Int64(record.offset)),
                    note)
                #expect(reader.problems.first?.kind == .corruptRecord, note)
                #expect(try !log.store.verify(log.run).isClean, note)
                // Every other record is still there.
                let survivors = log.records.enumerated().filter { $0.offset != k }.map(\.element)
                #expect(reader.index.records.count == survivors.filter { $0.type != .block }.count, note)
                let blocks = reader.index.series.values.reduce(0) { $0 + $1.blocks.count }
                #expect(blocks == survivors.filter { $0.type == .block }.count, note)
            }
        }
    }

    @Test func aFourGigabyteLengthIsAnErrorNotAnAllocation() throws {
        let log = try SmallLog()
        let victim = log.records[2]
        var damaged = log.bytes
        for i in 0..<4 { damaged[victim.offset + 4 + i] = 0xFF }
        try writeFile(log.segment, damaged)
        let reader = try log.store.openReader(log.run)
        #expect(reader.problems.count == 1)
        #expect(reader.problems.first?.location.offset == Int64(victim.offset))
        #expect(reader.problems.first?.detail.contains("exceeds the limit") == true)
        #expect(reader.index.records.count == 3)
    }

    @Test func aSegmentOfANewerFormatVersionIsAClearError() throws {
        let log = try SmallLog()
        try writeFile(log.segment, withHeaderByte(log.bytes, 8, 2))
        #expect { try log.store.openReader(log.run) } throws: {
            guard let error = $0 as? StoreError else { return false }
            return error.code == .unsupportedVersion && error.message.contains("format version 2")
        }
        #expect { try log.store.openWriter(log.run) } throws: { ($0 as? StoreError)?.code == .unsupportedVersion }
    }

    @Test func aDamagedSegmentHeaderSkipsOnlyThatSegment() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.store, options: storeOptions(blockPoints: 50, segmentSize: 4096))
        let writer = try store.createRun()
        for i in 0..<3000 {
            try writer.log("x", step: Int64(i), timestamp: Int64(i) * 7919 % 1000, value: Double(i).squareRoot())
        }
        try writer.close()
        let segments = try segmentPaths(store, writer.runID)
        #expect(segments.count >= 3)
        let intact = try store.openReader(writer.runID).index.series("x")!
        let inFirst = intact.blocks.filter { $0.segment == 1 }.reduce(0) { $0 + $1.summary.count }
        var first = try readFile(segments[0])
        first[0] ^= 0xFF
        try writeFile(segments[0], first)
        let reader = try store.openReader(writer.runID)
        #expect(reader.problems.map(\.kind) == [.damagedSegment])
        // Only the first segment's points are gone: every block names its own series.
        let points = try reader.scan("x")
        #expect(inFirst > 0)
        #expect(points.count == 3000 - inFirst)
        #expect(points.map(\.step) == Array(Int64(3000 - points.count)..<3000))
        #expect(try !store.verify(writer.runID).isClean)
    }
}

@Suite struct WindowedScanTests {
    /// Everything a load produced, in comparable form.
    struct Outcome: Equatable {
        var records: [RunRecord]
        var blocks: [String: [Int64]]
        var problems: [String]
        var tornTail: [Int64]
        var end: Int64?
    }

    func load(_ store: Store, _ run: RunID, window: Int, maxPayload: Int) throws -> Outcome {
        var loader = RunLogLoader(
            fileSystem: PosixFileSystem(), directory: store.directory(of: run), runID: run, windowSize: window,
            maxPayloadLength: maxPayload)
        try loader.refresh()
        return Outcome(
            records: loader.index.records,
            blocks: loader.index.series.mapValues { $0.blocks.map(\.offset) },
            problems: loader.problems.map { "\($0.kind) \($0.location.offset)" },
            tornTail: loader.tornTail.map { [$0.offset, $0.byteCount] } ?? [],
            end: loader.position?.offset)
    }

    @Test(arguments: [41, 42, 43] as [UInt64])
    func tinyWindowsReadExactlyWhatOneWindowReads(seed: UInt64) throws {
        let log = try SmallLog(blockPoints: 2)
        let largest = log.records.map { $0.end - $0.offset - RecordFrame.headerSize }.max()!
        var random = SeededRandom(seed: seed)
        for round in 0..<300 {
            var damaged = log.bytes
            switch random.next() % 3 {
            case 0:
                for _ in 0...(random.next() % 3) {
                    damaged[SegmentHeader.size + Int(random.next() % UInt64(damaged.count - SegmentHeader.size))] ^=
                        UInt8(truncatingIfNeeded: random.next() | 1)
                }
            case 1:
                let start = SegmentHeader.size + Int(random.next() % UInt64(damaged.count - SegmentHeader.size))
                let end = min(damaged.count, start + Int(random.next() % 64))
                for i in start..<end { damaged[i] = 0 }
            default:
                damaged.removeLast(Int(random.next() % UInt64(damaged.count - SegmentHeader.size)))
            }
            try writeFile(log.segment, damaged)
            let whole = try load(log.store, log.run, window: 1 << 20, maxPayload: largest)
            let tiny = try load(log.store, log.run, window: 1, maxPayload: largest)
            #expect(tiny == whole, "seed \(seed), round \(round)")
        }
    }
}
