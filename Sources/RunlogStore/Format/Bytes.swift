/// Why bytes could not be decoded. The caller adds the file and offset.
package struct DecodeError: Error, Sendable, CustomStringConvertible {
    let reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

extension Array where Element == UInt8 {
    @inline(__always)
    package mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always)
    package mutating func appendLittleEndian(_ value: Double) {
        appendLittleEndian(value.bitPattern)
    }

    /// A string as its UTF-8 bytes behind a little-endian length of type `Length`.
    mutating func appendString<Length: FixedWidthInteger>(_ string: String, lengthType: Length.Type) {
        var utf8 = string
        utf8.withUTF8 { bytes in
            appendLittleEndian(Length(bytes.count))
            append(contentsOf: bytes)
        }
    }
}

/// Reads little-endian fields from untrusted bytes; every read is bounds-checked and throws
/// `DecodeError` instead of trapping.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw DecodeError("truncated \(field)") }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func readDouble(_ field: StaticString) throws(DecodeError) -> Double {
        Double(bitPattern: try read(UInt64.self, field))
    }

    mutating func readBytes(_ count: Int, _ field: StaticString) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw DecodeError("truncated \(field)") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// A UTF-8 string behind a length of type `Length`; invalid UTF-8 is corruption.
    mutating func readString<Length: FixedWidthInteger>(
        lengthType: Length.Type, _ field: StaticString
    ) throws(DecodeError) -> String {
        let length = Int(try read(Length.self, field))
        let raw = try readBytes(length, field)
        guard let string = String(validatingUTF8Bytes: raw) else { throw DecodeError("\(field) is not UTF-8") }
        return string
    }
}

extension String {
    /// The string `bytes` spell in UTF-8, or nil when they are not valid UTF-8: what
    /// `String(validating:as: UTF8.self)` answers, without its generic validation, whose lookups of
    /// type metadata took about a tenth of opening a run from its snapshot. Decoding repairs invalid
    /// UTF-8, so the decoded bytes equal `bytes` exactly when they were valid (a repair writes
    /// U+FFFD where an ill-formed sequence began, and U+FFFD's own bytes are never ill-formed).
    package init?(validatingUTF8Bytes bytes: UnsafeRawBufferPointer) {
        var decoded = String(decoding: bytes, as: UTF8.self)
        guard decoded.withUTF8({ $0.elementsEqual(bytes) }) else { return nil }
        self = decoded
    }
}
