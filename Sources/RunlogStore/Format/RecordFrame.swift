/// The frame around every record of a segment:
///
/// ```
/// record := crc:u32 length:u32 type:u8 payload[length]
/// ```
/// `crc` is the CRC-32C of the 5 + `length` bytes after it (length, type and payload), so a damaged
/// length or type is caught as surely as a damaged payload. Little-endian.
package enum RecordFrame {
    static let headerSize = 9
    /// The largest payload a writer produces; a larger length field is corruption, never an allocation.
    static let maxPayloadLength = 8 << 20

    /// Appends a framed record to `bytes`.
    static func append(type: RecordType, payload: [UInt8], to bytes: inout [UInt8]) {
        append(typeByte: type.rawValue, payload: payload, to: &bytes)
    }

    /// Appends a framed record of any type byte, known to this build or not (tests and fuzzing
    /// write the records a newer build would).
    package static func append(typeByte: UInt8, payload: [UInt8], to bytes: inout [UInt8]) {
        precondition(payload.count <= maxPayloadLength, "record payload of \(payload.count) bytes")
        let start = bytes.count
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(UInt32(payload.count))
        bytes.append(typeByte)
        bytes.append(contentsOf: payload)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 4)...])) }
        withUnsafeBytes(of: crc.littleEndian) { crcBytes in
            for i in 0..<4 { bytes[start + i] = crcBytes[i] }
        }
    }

    static func framed(type: RecordType, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize + payload.count)
        append(type: type, payload: payload, to: &bytes)
        return bytes
    }

    /// What is at `offset` of `bytes`.
    enum Parsed {
        /// A well-formed record of a known or unknown type; `length` is its payload length.
        case record(typeByte: UInt8, length: Int)
        /// Fewer bytes remain than the header or the declared payload needs.
        case incomplete(String)
        /// The length is impossible or the checksum does not match.
        case bad(String)
    }

    static func parse(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, maxPayloadLength: Int = maxPayloadLength
    ) -> Parsed {
        let remaining = bytes.count - offset
        guard remaining >= headerSize else {
            return .incomplete("\(remaining) bytes left, a record header needs \(headerSize)")
        }
        let storedCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        let typeByte = bytes[offset + 8]
        guard length <= maxPayloadLength else {
            return .bad("record length \(length) exceeds the limit of \(maxPayloadLength)")
        }
        guard remaining - headerSize >= length else {
            return .incomplete("record of \(length) payload bytes, \(remaining - headerSize) left")
        }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + headerSize + length)])
        guard CRC32C.checksum(covered) == storedCRC else { return .bad("checksum mismatch") }
        return .record(typeByte: typeByte, length: length)
    }

    /// Whether the bytes from `offset` to the end are a whole record whose length field alone is
    /// wrong: its checksum matches once the length is taken as what remains. A writer that crashed
    /// mid-record leaves a prefix of the record, whose checksum never matches that way — so this
    /// tells damage at the end of a log from a torn write.
    static func hasDamagedLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let remaining = bytes.count - offset
        guard remaining >= headerSize, remaining - headerSize <= maxPayloadLength else { return false }
        let storedCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        var header: [UInt8] = []
        header.appendLittleEndian(UInt32(remaining - headerSize))
        header.append(bytes[offset + 8])
        let crc = header.withUnsafeBytes { CRC32C.checksum($0) }
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + headerSize)...]), continuing: crc)
            == storedCRC
    }
}
