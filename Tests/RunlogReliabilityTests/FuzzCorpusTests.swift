import Runlog
import RunlogReliability
import RunlogTestSupport
import Testing

@testable import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

/// The fuzz targets' seed corpus and every crash the fuzzers found (`Fixtures/fuzz/<target>/`),
/// replayed through the same entry points: each input must come back without trapping.
/// `RUNLOG_WRITE_FUZZ_SEEDS=1 swift test --filter FuzzCorpusTests` rewrites the generated seeds.
@Suite struct FuzzCorpusTests {
    static let root: String = {
        let file = "\(#filePath)"
        return String(file[..<file.range(of: "/Tests/")!.lowerBound]) + "/Fixtures/fuzz"
    }()

    static func inputs(_ target: String) -> [String] {
        let directory = root + "/" + target
        return ((try? PosixFileSystem().contentsOfDirectory(directory)) ?? []).sorted().map { directory + "/" + $0 }
    }

    @Test(arguments: ["records", "segment", "payload", "snapshot", "filter"])
    func everyCorpusInputIsHandled(target: String) throws {
        if getenv("RUNLOG_WRITE_FUZZ_SEEDS") != nil { try Self.writeSeeds() }
        let inputs = Self.inputs(target)
        #expect(inputs.count >= 3, "the \(target) corpus is missing")
        for path in inputs {
            let bytes = try readFile(path)
            bytes.withUnsafeBytes { raw in
                switch target {
                case "records": FuzzEntry.records(raw)
                case "segment": FuzzEntry.segmentFile(raw)
                case "payload": FuzzEntry.payload(raw)
                case "snapshot": FuzzEntry.snapshot(raw)
                default: FilterFuzzEntry.search(raw)
                }
            }
        }
    }

    /// Seeds from the checked-in fixture stores and a small store written here.
    static func writeSeeds() throws {
        let stores = String(root.dropLast("/fuzz".count)) + "/stores"
        let segments = ["valid", "torn-tail", "bad-crc", "bad-length", "unknown-record-type"].map {
            ($0, stores + "/\($0)/runs/00112233445566778899aabbccddeeff/00000001.segment")
        }
        for (name, path) in segments {
            let bytes = try readFile(path)
            try writeFile(root + "/segment/\(name)", bytes)
            // The same records as chunks for the records target, and each payload alone.
            var chunks: [UInt8] = [0x90]
            var offset = SegmentHeader.size
            var number = 0
            while offset + RecordFrame.headerSize <= bytes.count {
                let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16
                let end = offset + RecordFrame.headerSize + length
                guard end <= bytes.count, length < 1 << 16 else {
                    chunks += [0xFF, UInt8((bytes.count - offset) & 0xFF), UInt8((bytes.count - offset) >> 8)]
                    chunks += bytes[offset...]
                    break
                }
                let type = bytes[offset + 8]
                chunks += [type, UInt8(length & 0xFF), UInt8(length >> 8)] + bytes[(offset + 9)..<end]
                if name == "valid" {
                    try writeFile(root + "/payload/\(name)-\(number)", [type] + Array(bytes[(offset + 9)..<end]))
                }
                number += 1
                offset = end
            }
            try writeFile(root + "/records/\(name)", chunks)
        }
        // Snapshot payloads: of a store written with snapshots on, header and checksum cut off.
        let directory = TemporaryDirectory()
        var options = StoreOptions()
        options.blockPoints = 16
        options.backgroundCompaction = false
        let store = try Store.open(at: directory.store, options: options)
        for (i, keys) in [["loss"], ["loss", "acc", "lr"]].enumerated() {
            let writer = try store.createRun()
            for step in 0..<40 {
                for key in keys { try writer.log(key, step: Int64(step), timestamp: Int64(step), value: Double(step)) }
            }
            try writer.append(.param(key: "lr", value: "0.1", timestamp: 1))
            try writer.close()
            let snapshot = try readFile(store.directory(of: writer.runID) + "/INDEX")
            try writeFile(root + "/snapshot/run-\(i)", Array(snapshot[16...]))
        }
        try writeFile(root + "/snapshot/empty", [])
        let filters = [
            "metrics.loss < 0.5 and params.model = 'alpha'\nmetrics.loss ASC\n",
            "tags.phase LIKE 'tr%' OR attributes.status = 'FAILED'\nparams.lr DESC\n",
            "(metrics.acc >= 0.2 AND NOT params.lr IN ('0.01', '0.02')) OR attributes.run_name ILIKE '%A%'\n",
            "max(metrics.loss) > 0.1 and min(metrics.acc) = 0\nattributes.start_time\n",
            "`params`.`lr` != '0.03'\n\n",
            "attributes.run_name = 'beta' and tags.phase = 'eval' and metrics.loss <= 1e-1\nmetrics.acc DESC\nbad-token",
        ]
        for (i, filter) in filters.enumerated() { try writeFile(root + "/filter/seed-\(i)", Array(filter.utf8)) }
    }
}
