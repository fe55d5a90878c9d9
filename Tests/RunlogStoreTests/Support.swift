import Logging
import RunlogReliability
import RunlogWorkloads
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

func segmentPaths(_ store: Store, _ run: RunID) throws -> [String] {
    let directory = store.directory(of: run)
    return try SegmentName.list(in: directory, fileSystem: PosixFileSystem()).map {
        directory + "/" + SegmentName.fileName($0)
    }
}

/// Values that stress a codec: specials, float32-exact values, and full-precision doubles.
func interestingValue(_ random: inout SeededRandom) -> Double {
    switch random.next() % 12 {
    case 0: .nan
    case 1: .infinity
    case 2: -.infinity
    case 3: -0.0
    case 4: Double(bitPattern: 0x7FF0_0000_0000_0001)  // a signalling NaN with a payload
    case 5: Double(bitPattern: 0xFFF8_0000_0000_BEEF)  // a negative quiet NaN with a payload
    case 6: .leastNonzeroMagnitude
    case 7, 8: Double(Float(random.gaussian()))
    default: random.gaussian() * 1e3
    }
}

/// A random series: steps mostly rising, with runs out of order and duplicates; timestamps jittery.
func randomPoints(count: Int, _ random: inout SeededRandom, extremes: Bool = true) -> [MetricPoint] {
    var step: Int64 = Int64(random.next() % 1000)
    var time: Int64 = 1_700_000_000_000
    return (0..<count).map { _ in
        switch random.next() % 10 {
        case 0: step &-= Int64(random.next() % 50)  // out of order
        case 1: break  // duplicate step
        case 2 where extremes: step = [Int64.min, Int64.max, 0, -1][Int(random.next() % 4)]
        default: step &+= 1
        }
        time += Int64(random.next() % 200) - 20
        return MetricPoint(step: step, timestamp: time, value: interestingValue(&random))
    }
}

/// What a scan must return: the points in range, by (step, timestamp), ties in logging order.
func expectedScan(_ logged: [MetricPoint], _ range: ScanRange = .all) -> [MetricPoint] {
    logged.enumerated()
        .filter { range.contains($0.element) }
        .sorted { a, b in
            (a.element.step, a.element.timestamp, a.offset) < (b.element.step, b.element.timestamp, b.offset)
        }
        .map(\.element)
}

/// Options for engine tests. Background compaction and index snapshots are off unless a test asks
/// for them, so that tests of the log's structure and recovery see the log they wrote.
func storeOptions(
    compression: Bool = true, blockPoints: Int = 256, segmentSize: Int = 1 << 20, durability: Durability = .never,
    backgroundCompaction: Bool = false, indexSnapshots: Bool = false
) -> StoreOptions {
    var options = StoreOptions()
    options.backgroundCompaction = backgroundCompaction
    options.indexSnapshots = indexSnapshots
    // Tests inject failures on purpose; what the engine logs about them is noise here.
    options.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
    options.compression = compression
    options.blockPoints = blockPoints
    options.segmentSize = segmentSize
    options.durability = durability
    return options
}

/// (type, offset, end) of each record of a whole, well-formed segment file.
func recordBoundaries(_ bytes: [UInt8]) -> [(type: RecordType, offset: Int, end: Int)] {
    var records: [(RecordType, Int, Int)] = []
    var scanner = SegmentScanner(file: "", isLast: true, start: Int64(SegmentHeader.size))
    _ = bytes.withUnsafeBytes { raw in
        scanner.scan(
            UnsafeRawBufferPointer(rebasing: raw[SegmentHeader.size...]), base: Int64(SegmentHeader.size), atEOF: true
        ) {
            type, offset, payload in
            records.append((type, Int(offset), Int(offset) + RecordFrame.headerSize + payload.count))
        }
    }
    return records
}

/// `bytes` (a segment) with header byte `index` set to `value` and the header CRC made valid again.
func withHeaderByte(_ bytes: [UInt8], _ index: Int, _ value: UInt8) -> [UInt8] {
    var bytes = bytes
    bytes[index] = value
    let crc = CRC32C.checksum(Array(bytes[0..<32]))
    withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[32 + i] = $0[i] } }
    return bytes
}
