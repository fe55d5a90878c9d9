/// Zigzag mapping of signed to unsigned integers: 0, -1, 1, -2… → 0, 1, 2, 3…, so that small
/// deltas of either sign have few significant bits.
enum ZigZag {
    @inline(__always)
    static func encode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }

    @inline(__always)
    static func decode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}
