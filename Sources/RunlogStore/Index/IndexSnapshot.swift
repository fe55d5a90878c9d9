/// A run's index saved beside its log (`runs/<id>/INDEX`), so that opening the run reads one small
/// file instead of every segment. It is a cache, never the truth: it is used only when it checks
/// out against the segments it describes (see `RunLogLoader.fromSnapshot`), and rebuilt otherwise.
///
/// ```
/// snapshot := magic:"RLIX" version:u16 reserved:u16 payloadLength:u32 payloadCRC:u32 payload
/// payload  := runID:16 base:u32 positionSequence:u32 positionOffset:i64 tailCRC:u32
///             segmentCount:u32 (sequence:u32 size:i64)*
///             recordCount:u32 (type:u8 length:u32 payload)*
///             seriesCount:u32 (keyLength:u16 key blockCount:u32 block*)*
/// block    := segment:u32 offset:i64 length:u32 count:u32 minStep:i64 maxStep:i64
///             minTimestamp:i64 maxTimestamp:i64 minValue:f64 maxValue:f64
///             firstStep:i64 firstTimestamp:i64 firstValue:f64 latestStep:i64 latestTimestamp:i64 latestValue:f64
/// ```
/// `payloadCRC` is the CRC-32C of the payload; `reserved` is 0. `tailCRC` is the CRC-32C of the (up to) 64 bytes
/// before `positionOffset` in segment `positionSequence` — the end of the log the index covers.
package struct IndexSnapshot: Sendable {
    static let fileName = "INDEX"
    package static let magic: [UInt8] = Array("RLIX".utf8)
    package static let version: UInt16 = 1
    static let maxSize: Int64 = 256 << 20
    static let tailLength = 64
    private static let blockSize = 116

    var runID: RunID
    var base: UInt32
    var position: (sequence: UInt32, offset: Int64)
    var tailCRC: UInt32
    /// Every live segment and its size; the last one's is `position.offset`.
    var segments: [(sequence: UInt32, size: Int64)]
    var index: RunIndex

    func encoded() -> [UInt8] {
        var payload: [UInt8] = runID.bytes
        payload.appendLittleEndian(base)
        payload.appendLittleEndian(position.sequence)
        payload.appendLittleEndian(position.offset)
        payload.appendLittleEndian(tailCRC)
        payload.appendLittleEndian(UInt32(segments.count))
        for segment in segments {
            payload.appendLittleEndian(segment.sequence)
            payload.appendLittleEndian(segment.size)
        }
        payload.appendLittleEndian(UInt32(index.records.count))
        for record in index.records {
            let bytes = record.payload()
            payload.append(record.type.rawValue)
            payload.appendLittleEndian(UInt32(bytes.count))
            payload.append(contentsOf: bytes)
        }
        payload.appendLittleEndian(UInt32(index.series.count))
        for key in index.keys {
            let series = index.series[key]!
            payload.appendString(key, lengthType: UInt16.self)
            payload.appendLittleEndian(UInt32(series.blocks.count))
            for block in series.blocks {
                let s = block.summary
                payload.appendLittleEndian(block.segment)
                payload.appendLittleEndian(block.offset)
                payload.appendLittleEndian(UInt32(block.length))
                payload.appendLittleEndian(UInt32(s.count))
                for value in [s.minStep, s.maxStep, s.minTimestamp, s.maxTimestamp] {
                    payload.appendLittleEndian(value)
                }
                payload.appendLittleEndian(s.minValue)
                payload.appendLittleEndian(s.maxValue)
                for point in [s.first, s.latest] {
                    payload.appendLittleEndian(point.step)
                    payload.appendLittleEndian(point.timestamp)
                    payload.appendLittleEndian(point.value)
                }
            }
        }
        var bytes = IndexSnapshot.magic
        bytes.appendLittleEndian(IndexSnapshot.version)
        bytes.appendLittleEndian(UInt16(0))
        bytes.appendLittleEndian(UInt32(payload.count))
        bytes.appendLittleEndian(CRC32C.checksum(payload))
        bytes.append(contentsOf: payload)
        return bytes
    }

    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> IndexSnapshot {
        var header = ByteReader(bytes)
        guard header.remaining >= 16, Array(try header.readBytes(4, "magic")) == magic else {
            throw DecodeError("not an index snapshot")
        }
        guard try header.read(UInt16.self, "version") == version else { throw DecodeError("unknown snapshot version") }
        // Not covered by the checksum, so held to its one value: a changed byte here is damage.
        guard try header.read(UInt16.self, "reserved") == 0 else {
            throw DecodeError("reserved snapshot field is not 0")
        }
        let length = Int(try header.read(UInt32.self, "payload length"))
        let crc = try header.read(UInt32.self, "payload CRC")
        let payload = try header.readBytes(length, "payload")
        guard header.remaining == 0, CRC32C.checksum(payload) == crc else {
            throw DecodeError("snapshot checksum mismatch")
        }
        var reader = ByteReader(payload)
        let runID = RunID(bytes: Array(try reader.readBytes(16, "run id")))
        let base = try reader.read(UInt32.self, "base")
        let position = (
            try reader.read(UInt32.self, "position sequence"), try reader.read(Int64.self, "position offset")
        )
        let tailCRC = try reader.read(UInt32.self, "tail CRC")
        let segmentCount = Int(try reader.read(UInt32.self, "segment count"))
        guard segmentCount * 12 <= reader.remaining else { throw DecodeError("segment count beyond the snapshot") }
        var segments: [(UInt32, Int64)] = []
        segments.reserveCapacity(segmentCount)
        for _ in 0..<segmentCount {
            segments.append((try reader.read(UInt32.self, "segment"), try reader.read(Int64.self, "segment size")))
        }
        var index = RunIndex()
        let recordCount = Int(try reader.read(UInt32.self, "record count"))
        guard recordCount * 5 <= reader.remaining else { throw DecodeError("record count beyond the snapshot") }
        index.records.reserveCapacity(recordCount)
        for _ in 0..<recordCount {
            let typeByte = try reader.read(UInt8.self, "record type")
            guard let type = RecordType(rawValue: typeByte), type != .block else {
                throw DecodeError("bad record type")
            }
            let recordPayload = try reader.readBytes(Int(try reader.read(UInt32.self, "record length")), "record")
            index.records.append(try RunRecord.decode(type: type, payload: recordPayload))
        }
        let seriesCount = Int(try reader.read(UInt32.self, "series count"))
        guard seriesCount * 6 <= reader.remaining else { throw DecodeError("series count beyond the snapshot") }
        for _ in 0..<seriesCount {
            let key = try reader.readString(lengthType: UInt16.self, "series key")
            let blockCount = Int(try reader.read(UInt32.self, "block count"))
            guard blockCount * blockSize <= reader.remaining else {
                throw DecodeError("block count beyond the snapshot")
            }
            var series = SeriesIndex(key: key)
            for _ in 0..<blockCount {
                let segment = try reader.read(UInt32.self, "block segment")
                let offset = try reader.read(Int64.self, "block offset")
                let length = Int(try reader.read(UInt32.self, "block length"))
                let count = Int(try reader.read(UInt32.self, "block count"))
                let steps = (try reader.read(Int64.self, "min step"), try reader.read(Int64.self, "max step"))
                let times = (try reader.read(Int64.self, "min timestamp"), try reader.read(Int64.self, "max timestamp"))
                let values = (try reader.readDouble("min value"), try reader.readDouble("max value"))
                func point() throws(DecodeError) -> MetricPoint {
                    MetricPoint(
                        step: try reader.read(Int64.self, "step"), timestamp: try reader.read(Int64.self, "timestamp"),
                        value: try reader.readDouble("value"))
                }
                let first = try point()
                let latest = try point()
                guard count >= 1, count <= BlockHeader.maxPoints, length > RecordFrame.headerSize else {
                    throw DecodeError("impossible block in the snapshot")
                }
                series.add(
                    BlockDescriptor(
                        segment: segment, offset: offset, length: length,
                        summary: BlockSummary(
                            count: count, minStep: steps.0, maxStep: steps.1, minTimestamp: times.0,
                            maxTimestamp: times.1,
                            minValue: values.0, maxValue: values.1, first: first, latest: latest)))
            }
            index.series.set(series)
        }
        guard reader.remaining == 0 else { throw DecodeError("bytes after the snapshot's series") }
        return IndexSnapshot(
            runID: runID, base: base, position: position, tailCRC: tailCRC, segments: segments, index: index)
    }
}

extension IndexSnapshot {
    /// The snapshot of a run whose log ends at `position`, read from disk now; nil when the
    /// segments do not agree (then no snapshot is worth writing).
    static func take(
        of index: RunIndex, runID: RunID, base: UInt32, position: (sequence: UInt32, offset: Int64),
        directory: String, fileSystem: any FileSystem
    ) throws -> IndexSnapshot? {
        var segments: [(UInt32, Int64)] = []
        for sequence in try SegmentName.list(in: directory, fileSystem: fileSystem) where sequence >= base {
            guard sequence <= position.sequence,
                let size = fileSystem.fileSize(directory + "/" + SegmentName.fileName(sequence))
            else { return nil }
            if sequence == position.sequence {
                guard size == position.offset else { return nil }
            }
            segments.append((sequence, size))
        }
        guard segments.last?.0 == position.sequence,
            let tail = try tail(directory: directory, position: position, fileSystem: fileSystem)
        else { return nil }
        return IndexSnapshot(
            runID: runID, base: base, position: position, tailCRC: tail.checksum, segments: segments, index: index)
    }

    /// The checksum of the `tailLength` bytes before `position` in its segment, and whether the
    /// segment was seen to end there (it has not grown since): nil when it is shorter.
    static func tail(
        directory: String, position: (sequence: UInt32, offset: Int64), fileSystem: any FileSystem
    ) throws -> (checksum: UInt32, endsThere: Bool)? {
        let file = try fileSystem.open(
            directory + "/" + SegmentName.fileName(position.sequence), writable: false, create: false)
        defer { try? file.close() }  // read-only
        let start = max(0, position.offset - Int64(tailLength))
        let count = Int(position.offset - start)
        // One read of a byte more than the tail: fewer than asked only at the end of the file, so
        // exactly the tail says the file ends there. A read shorter still is finished in full and
        // says nothing of the end.
        var bytes = [UInt8](repeating: 0, count: count + 1)
        let first = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: start) }
        if first < count {
            let rest = try bytes.withUnsafeMutableBytes { buffer in
                try file.readFully(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[first..<count]), at: start + Int64(first))
            }
            // A file shorter than the end the snapshot covers has no such tail.
            guard first + rest == count else { return nil }
        }
        let checksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        return (checksum, first == count)
    }

    /// Writes the snapshot aside and renames it into place. A cache: a snapshot lost by a crash
    /// fails its validation and the index is rebuilt from the log. With `sync` the file is fsynced
    /// before the rename, so that power loss cannot leave a torn snapshot under the name (`verify`
    /// reports one as damage); without it (durability `.never`) it may.
    func write(directory: String, fileSystem: any FileSystem, sync: Bool) throws {
        let path = directory + "/" + IndexSnapshot.fileName
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        let file = try fileSystem.open(temporary, writable: true, create: true)
        do {
            try file.truncate(to: 0)
            try file.writeAll(encoded(), at: 0)
            if sync { try file.sync() }
            try file.close()
        } catch {
            try? file.close()  // the write's error is the one to report
            try? fileSystem.remove(temporary)
            throw error
        }
        try fileSystem.rename(temporary, to: path)
    }
}

extension IndexSnapshot {
    /// What `verify` finds in a run's snapshot file: nothing (no file), the decoded snapshot, or
    /// why it fails its checksum or does not decode. (A snapshot that decodes may still be stale:
    /// after a crash it often is, and that is no damage.)
    enum Reading {
        case none
        case snapshot(IndexSnapshot)
        case damaged(path: String, reason: String)
    }

    static func read(directory: String, fileSystem: any FileSystem) -> Reading {
        let path = directory + "/" + fileName
        let file: any FileHandle
        do {
            file = try fileSystem.open(path, writable: false, create: false)
        } catch let error as SystemError where error.isMissingFile {
            return .none
        } catch {
            return .damaged(path: path, reason: "\(error)")
        }
        defer { try? file.close() }  // read-only
        do {
            let size = try file.size()
            guard size <= maxSize else {
                return .damaged(path: path, reason: "\(size) bytes exceed the limit of \(maxSize)")
            }
            let bytes = try file.read(count: Int(size), at: 0)
            return .snapshot(
                try bytes.withUnsafeBytes { raw in
                    Result { () throws(DecodeError) in try IndexSnapshot.decode(raw) }
                }.get())
        } catch {
            return .damaged(path: path, reason: "\(error)")
        }
    }
}
