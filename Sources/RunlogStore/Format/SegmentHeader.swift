/// The first 36 bytes of every segment file:
///
/// ```
/// magic:8 version:u16 flags:u16 runID:16 sequence:u32 crc:u32
/// ```
/// `magic` is 89 52 4C 4F 47 0D 0A 1A ("\x89RLOG\r\n\x1A", after PNG: catches 7-bit and newline
/// mangling); `crc` is the CRC-32C of the 32 bytes before it. Little-endian. `flags` bit 0 marks
/// a compacted segment, which replaces every segment of a lower sequence; other bits are 0.
package struct SegmentHeader: Sendable, Hashable {
    static let size = 36
    static let magic: [UInt8] = [0x89, 0x52, 0x4C, 0x4F, 0x47, 0x0D, 0x0A, 0x1A]
    /// The format version this build writes, and the newest it reads.
    static let currentVersion: UInt16 = 1

    var version: UInt16 = currentVersion
    var runID: RunID
    var sequence: UInt32
    /// Whether this segment replaces all segments of lower sequence (the output of compaction).
    var compacted = false

    static let compactedFlag: UInt16 = 1

    package init(version: UInt16 = currentVersion, runID: RunID, sequence: UInt32, compacted: Bool = false) {
        self.version = version
        self.runID = runID
        self.sequence = sequence
        self.compacted = compacted
    }

    package func encoded() -> [UInt8] {
        var bytes = SegmentHeader.magic
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(compacted ? SegmentHeader.compactedFlag : 0)
        bytes.append(contentsOf: runID.bytes)
        bytes.appendLittleEndian(sequence)
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes
    }

    enum ReadError: Error {
        case damaged(String)
        case newerVersion(UInt16)
        case unknownFlags(UInt16)
    }

    static func read(_ bytes: UnsafeRawBufferPointer) throws(ReadError) -> SegmentHeader {
        guard bytes.count >= size else { throw .damaged("segment header is \(bytes.count) bytes, needs \(size)") }
        guard bytes.prefix(8).elementsEqual(magic) else { throw .damaged("not a Runlog segment (bad magic)") }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<32])) == crc else {
            throw .damaged("segment header checksum mismatch")
        }
        let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        guard version >= 1 else { throw .damaged("segment format version 0") }
        guard version <= currentVersion else { throw .newerVersion(version) }
        let flags = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
        guard flags & ~compactedFlag == 0 else { throw .unknownFlags(flags) }
        let runID = RunID(bytes: Array(bytes[12..<28]))
        let sequence = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        return SegmentHeader(version: version, runID: runID, sequence: sequence, compacted: flags & compactedFlag != 0)
    }
}
