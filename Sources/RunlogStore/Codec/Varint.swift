/// LEB128 varints of zigzag-mapped signed integers: 7 bits a byte, low bits first, high bit set on
/// every byte but the last; at most 10 bytes. Zigzag maps 0, -1, 1, -2… to 0, 1, 2, 3… so that small
/// deltas of either sign take one byte.
enum Varint {
    static let maxLength = 10

    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }

    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    /// Writes `value` at `out` and returns the number of bytes written (1…10).
    @inline(__always)
    static func write(_ value: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var value = value
        var n = 0
        while value >= 0x80 {
            out[n] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            n += 1
        }
        out[n] = UInt8(value)
        return n + 1
    }

    /// Reads a varint at `position` (advancing it) from `bytes[..<end]`.
    @inline(__always)
    static func read(
        _ bytes: UnsafePointer<UInt8>, position: inout Int, end: Int
    ) throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw DecodeError("truncated varint") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw DecodeError("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }
}
