import Logging
import RunlogStore

/// Entry points for the libFuzzer targets (`Sources/RunlogFuzz`) and for the tests that replay
/// their corpus. Each takes arbitrary bytes and must return — never trap, hang or allocate
/// without bound — whatever the bytes are; errors are the expected answer to garbage.
package enum FuzzEntry {
    /// The record reader: `bytes` become records framed with valid checksums (so the fuzzer gets
    /// past the CRC into the payload decoders), in a run's segments on an in-memory disk, which
    /// is then opened, scanned, refreshed, verified and recovered by a writer.
    ///
    /// Layout: a first byte choosing the segment size, then chunks of `type:u8 length:u16
    /// payload[length]` (a short last chunk takes what is left); chunks of type 0xFF are copied
    /// raw, without a frame — garbage between records.
    package static func records(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let run = RunID(bytes: Array(repeating: 7, count: 16))
        let disk = SimulatedDisk()
        guard let store = memoryStore(disk, indexSnapshots: first & 0x80 != 0, durability: .never) else { return }
        let directory = store.directory(of: run)
        try? disk.createDirectory(directory)
        // Split the framed records over segments of the chosen size.
        let segmentLimit = 64 + Int(first & 0x7F) * 16
        var sequence: UInt32 = 1
        var segment = SegmentHeader(runID: run, sequence: sequence).encoded()
        func writeSegment() {
            if let file = try? disk.open(directory + "/" + SegmentName.fileName(sequence), writable: true, create: true)
            {
                try? file.writeAll(segment, at: 0)
            }
        }
        var i = 1
        while i < bytes.count {
            let type = bytes[i]
            let length = i + 3 <= bytes.count ? Int(bytes[i + 1]) | Int(bytes[i + 2]) << 8 : 0
            let start = min(bytes.count, i + 3)
            let end = min(bytes.count, start + length)
            let payload = Array(bytes[start..<end])
            if type == 0xFF {
                segment += payload
            } else {
                RecordFrame.append(typeByte: type, payload: payload, to: &segment)
            }
            i = end
            if segment.count >= segmentLimit && i < bytes.count {
                writeSegment()
                sequence += 1
                segment = SegmentHeader(runID: run, sequence: sequence).encoded()
            }
        }
        writeSegment()
        exercise(store, run)
    }

    /// A whole segment file as found on disk (header included), in a run of its own.
    package static func segmentFile(_ bytes: UnsafeRawBufferPointer) {
        let run = RunID(bytes: Array(repeating: 9, count: 16))
        let disk = SimulatedDisk()
        guard let store = memoryStore(disk, indexSnapshots: true, durability: .onFlush) else { return }
        try? disk.createDirectory(store.directory(of: run))
        if let file = try? disk.open(store.directory(of: run) + "/00000001.segment", writable: true, create: true) {
            try? file.writeAll(bytes, at: 0)
        }
        exercise(store, run)
    }

    /// A store on `disk`, quiet, without background work.
    private static func memoryStore(_ disk: SimulatedDisk, indexSnapshots: Bool, durability: Durability) -> Store? {
        var options = StoreOptions()
        options.fileSystem = disk
        options.durability = durability
        options.backgroundCompaction = false
        options.indexSnapshots = indexSnapshots
        options.logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
        return try? Store.open(at: "/s", options: options)
    }

    /// Reads a run every way there is, then lets a writer recover it and log on.
    private static func exercise(_ store: Store, _ run: RunID) {
        if let reader = try? store.openReader(run) {
            for key in reader.index.keys {
                _ = try? reader.scan(key)
                _ = try? reader.scan(key, range: ScanRange(steps: 0...99))
            }
            _ = try? reader.refresh()
        }
        _ = try? store.verify(run)
        if let writer = try? store.openWriter(run) {
            if let series = try? writer.series("fuzz") {
                try? writer.log(series, step: 1, timestamp: 1, value: 1)
            }
            try? writer.close()
        }
        _ = try? store.compact(run)
        if let reader = try? store.openReader(run) {
            for key in reader.index.keys { _ = try? reader.scan(key) }
        }
    }

    /// The block and record decoders on a record payload: the first byte is the record type.
    package static func payload(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first, let type = RecordType(rawValue: first) else { return }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[1...])
        var index = RunIndex()
        guard index.apply(type, segment: 1, offset: 0, payload: payload) == nil, type == .block else { return }
        var scratch: [UInt8] = []
        let out = UnsafeMutableRawPointer.allocate(
            byteCount: BlockHeader.maxPoints * MemoryLayout<MetricPoint>.stride, alignment: 8)
        defer { out.deallocate() }
        _ = try? BlockDecoder.decode(payload, scratch: &scratch, into: out, capacity: BlockHeader.maxPoints)
    }

    /// The index snapshot decoder, on a payload given a valid header and checksum.
    package static func snapshot(_ bytes: UnsafeRawBufferPointer) {
        var file: [UInt8] = IndexSnapshot.magic
        file.appendLittleEndian(IndexSnapshot.version)
        file.appendLittleEndian(UInt16(0))
        file.appendLittleEndian(UInt32(bytes.count))
        file.appendLittleEndian(CRC32C.checksum(bytes))
        file.append(contentsOf: bytes)
        _ = file.withUnsafeBytes { raw in Result { () throws(DecodeError) in try IndexSnapshot.decode(raw) } }
    }
}
