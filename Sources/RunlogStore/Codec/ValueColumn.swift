import CRunlogCodec

/// A column of `Double` values, byte-shuffled: byte plane 0 (the least significant byte of every
/// value), then plane 1, and so on, so that bytes which repeat across values (sign and exponent; the
/// all-zero low mantissa of float32-precision values) sit together for LZ4 to collapse.
///
/// Two widths, named by the block's value codec byte:
/// - `float64`: 8 planes of the values' IEEE-754 binary64 bits.
/// - `float32`: 4 planes of binary32 bits, used only when every value of the block converts to
///   `Float` and back to the identical 64 bits (NaN payloads included), so decoding is bit-exact.
///
/// XOR-ing each value with its predecessor before shuffling was measured against plain shuffling
/// on the training curves of `RunlogWorkloads` and never won (equal on loss, learning rate and
/// random doubles; 0.01–0.03 bytes/point worse on accuracy and gradient norm), so it is not part
/// of the format.
struct ValueCodec: Hashable, Sendable {
    var float32: Bool

    /// The codec byte stored in a block header: bit 0 = float32; other bits are 0.
    var rawValue: UInt8 { float32 ? 1 : 0 }

    init(float32: Bool) {
        self.float32 = float32
    }

    init(rawValue: UInt8) throws(DecodeError) {
        guard rawValue <= 1 else { throw DecodeError("unknown value codec \(rawValue)") }
        self.float32 = rawValue == 1
    }

    var bytesPerValue: Int { float32 ? 4 : 8 }
}

enum ValueColumn {
    /// Whether the value of every one of `points` survives a round trip through `Float`
    /// bit-exactly.
    static func fitsFloat32(_ points: UnsafeBufferPointer<MetricPoint>) -> Bool {
        for point in points where Double(Float(point.value)).bitPattern != point.value.bitPattern { return false }
        return true
    }

    /// Writes the values of `points`, `points.count * codec.bytesPerValue` bytes, at `out`: one
    /// loop per width with its planes' pointers held, not a loop over planes for every value.
    static func encode(
        _ points: UnsafeBufferPointer<MetricPoint>, codec: ValueCodec, to out: UnsafeMutablePointer<UInt8>
    ) {
        let count = points.count
        let p0 = out, p1 = out + count, p2 = out + 2 &* count, p3 = out + 3 &* count
        if codec.float32 {
            for j in 0..<count {
                let bits = Float(points[j].value).bitPattern
                p0[j] = UInt8(truncatingIfNeeded: bits)
                p1[j] = UInt8(truncatingIfNeeded: bits &>> 8)
                p2[j] = UInt8(truncatingIfNeeded: bits &>> 16)
                p3[j] = UInt8(truncatingIfNeeded: bits &>> 24)
            }
        } else {
            let p4 = out + 4 &* count, p5 = out + 5 &* count, p6 = out + 6 &* count, p7 = out + 7 &* count
            for j in 0..<count {
                let bits = points[j].value.bitPattern
                p0[j] = UInt8(truncatingIfNeeded: bits)
                p1[j] = UInt8(truncatingIfNeeded: bits &>> 8)
                p2[j] = UInt8(truncatingIfNeeded: bits &>> 16)
                p3[j] = UInt8(truncatingIfNeeded: bits &>> 24)
                p4[j] = UInt8(truncatingIfNeeded: bits &>> 32)
                p5[j] = UInt8(truncatingIfNeeded: bits &>> 40)
                p6[j] = UInt8(truncatingIfNeeded: bits &>> 48)
                p7[j] = UInt8(truncatingIfNeeded: bits &>> 56)
            }
        }
    }

    /// Reads `count` values from `bytes` (exactly `count * codec.bytesPerValue` of them) into the
    /// `value` field of each `MetricPoint` at `out`: a transpose of 16 values at a time in vector
    /// registers (`CRunlogCodec`), which the compiler does not find in a loop over strided points.
    static func decode(
        _ bytes: UnsafePointer<UInt8>, count: Int, codec: ValueCodec, into out: UnsafeMutableRawPointer
    ) {
        let values = out + MetricPoint.valueOffset
        if codec.float32 {
            runlog_planes_read_float32(bytes, count, values, MetricPoint.stride)
        } else {
            runlog_planes_read_64(bytes, count, values, MetricPoint.stride)
        }
    }
}
