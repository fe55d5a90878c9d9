/// A column of `Int64` (steps or timestamps) as delta-of-deltas, bit-packed in miniblocks.
///
/// ```
/// column     := first:i64 [firstDelta:i64 miniblock*]      (firstDelta present when count ≥ 2)
/// miniblock  := width:u8 packed                            (covers the next min(128, left) values)
/// packed     := ceil(k * width / 8) bytes: k zigzag(dod) values of `width` bits, low bits first
/// ```
/// `dod[i] = (v[i] - v[i-1]) - (v[i-1] - v[i-2])` for i ≥ 2, with wrapping arithmetic so that any
/// `Int64` round-trips. Steps that advance by a constant cost 0 bits a point; timestamps with a few
/// milliseconds of jitter cost a few bits. A miniblock's own width keeps one outlier (a pause for
/// evaluation) from widening the whole block.
enum IntegerColumn {
    static let miniblockLength = 128

    /// An upper bound of the encoded size of `count` values.
    static func maxEncodedSize(_ count: Int) -> Int {
        16 + (count / miniblockLength + 1) * (1 + miniblockLength * 8)
    }

    /// Encodes `values` at `out`, which has room for `maxEncodedSize(values.count)` bytes;
    /// returns the bytes written.
    static func encode(_ values: UnsafeBufferPointer<Int64>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = values.baseAddress else { return 0 }
        return encode(count: values.count, to: out) { base[$0] }
    }

    /// Encodes the `Int64` field at `fieldOffset` of each of `points` (a column read in place,
    /// without splitting the points into arrays first), as `encode(_:to:)` does.
    static func encode(
        _ points: UnsafeBufferPointer<MetricPoint>, fieldOffset: Int, to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        guard let base = points.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let stride = MetricPoint.stride
        return encode(count: points.count, to: out) {
            raw.load(fromByteOffset: $0 &* stride &+ fieldOffset, as: Int64.self)
        }
    }

    /// The encoder, over values `value(0..<count)`.
    @inline(__always)
    private static func encode(
        count: Int, to out: UnsafeMutablePointer<UInt8>, _ value: (Int) -> Int64
    ) -> Int {
        guard count > 0 else { return 0 }
        var position = 0
        func put64(_ value: Int64) {
            UnsafeMutableRawPointer(out + position).storeBytes(of: value.littleEndian, as: Int64.self)
            position += 8
        }
        put64(value(0))
        guard count > 1 else { return position }
        var previous = value(1)
        var delta = previous &- value(0)
        put64(delta)
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: miniblockLength) { zigzags in
            let zigzags = zigzags.baseAddress!
            var start = 2
            while start < count {
                let k = min(miniblockLength, count &- start)
                var widest: UInt64 = 0
                for j in 0..<k {
                    let current = value(start &+ j)
                    let next = current &- previous
                    let z = ZigZag.encode(next &- delta)
                    previous = current
                    delta = next
                    zigzags[j] = z
                    widest |= z
                }
                let width = 64 &- widest.leadingZeroBitCount
                out[position] = UInt8(truncatingIfNeeded: width)
                position &+= 1
                if width > 0 {
                    var writer = BitWriter(out: out, position: position)
                    for j in 0..<k { writer.put(zigzags[j], width: width) }
                    position = writer.finish()
                }
                start &+= k
            }
            return position
        }
    }

    /// Decodes `count` values from `bytes[start..<end]` (exactly that range) into the `Int64` field at
    /// `fieldOffset` of each `MetricPoint` at `out`. `bytes` is readable up to `limit` ≥ `end`.
    static func decode(
        _ bytes: UnsafePointer<UInt8>, start: Int, end: Int, limit: Int, count: Int,
        into out: UnsafeMutableRawPointer, fieldOffset: Int
    ) throws(DecodeError) {
        guard count > 0 else {
            guard start == end else { throw DecodeError("integer column has bytes but no values") }
            return
        }
        var position = start
        func get64() throws(DecodeError) -> Int64 {
            guard end - position >= 8 else { throw DecodeError("truncated integer column") }
            defer { position += 8 }
            return Int64(littleEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: Int64.self))
        }
        let stride = MetricPoint.stride
        @inline(__always) func store(_ i: Int, _ value: Int64) {
            out.storeBytes(of: value, toByteOffset: i &* stride &+ fieldOffset, as: Int64.self)
        }
        var value = try get64()
        store(0, value)
        if count > 1 {
            var delta = try get64()
            value &+= delta
            store(1, value)
            var i = 2
            while i < count {
                let k = min(miniblockLength, count - i)
                guard position < end else { throw DecodeError("truncated miniblock width") }
                let width = Int(bytes[position])
                position += 1
                guard width <= 64 else { throw DecodeError("miniblock width \(width) exceeds 64") }
                let packedLength = (k * width + 7) / 8
                guard end - position >= packedLength else { throw DecodeError("truncated miniblock") }
                if width == 0 {
                    for j in 0..<k {
                        value &+= delta
                        store(i &+ j, value)
                    }
                } else if width <= 56 && limit - position >= packedLength + 8 {
                    unpack(
                        bytes + position, width: width, count: k,
                        into: out + (i &* stride &+ fieldOffset), delta: &delta, value: &value)
                } else {
                    var reader = BitReader(bytes: bytes, bitPosition: position * 8, limit: limit)
                    for j in 0..<k {
                        delta &+= ZigZag.decode(reader.take(width))
                        value &+= delta
                        store(i + j, value)
                    }
                }
                position += packedLength
                i += k
            }
        }
        guard position == end else { throw DecodeError("integer column has \(end - position) bytes past its values") }
    }
}

extension IntegerColumn {
    /// Adds `count` zigzag delta-of-deltas of `width` bits, packed from byte `bytes` on, to
    /// `delta` and `value`, and stores each value at `out`, one `MetricPoint` stride apart. The
    /// caller has checked that `width` ≤ 56 and that 8 bytes can be read at every value's first
    /// byte: a group of eight values, or each value with its bit shift (at most 7), then loads
    /// as words. Kept apart from `decode` so that its few live values stay in registers.
    @inline(never)
    fileprivate static func unpack(
        _ bytes: UnsafePointer<UInt8>, width: Int, count: Int, into out: UnsafeMutableRawPointer,
        delta: inout Int64, value: inout Int64
    ) {
        var state = Unpacking(bytes: bytes, out: out, delta: delta, value: value)
        // Eight values of `width` bits fill `width` bytes: with the width a constant, every
        // value's place inside a group of eight is one too. Timestamps with jitter take a few
        // bits, a pause for evaluation a miniblock of 13-16; wider ones are rare and take the
        // loop below.
        let groups = count &>> 3
        switch width {
        case 1: state.groups(groups, width: 1)
        case 2: state.groups(groups, width: 2)
        case 3: state.groups(groups, width: 3)
        case 4: state.groups(groups, width: 4)
        case 5: state.groups(groups, width: 5)
        case 6: state.groups(groups, width: 6)
        case 7: state.groups(groups, width: 7)
        case 8: state.groups(groups, width: 8)
        case 9: state.groups(groups, width: 9)
        case 10: state.groups(groups, width: 10)
        case 11: state.groups(groups, width: 11)
        case 12: state.groups(groups, width: 12)
        case 13: state.groups(groups, width: 13)
        case 14: state.groups(groups, width: 14)
        case 15: state.groups(groups, width: 15)
        case 16: state.groups(groups, width: 16)
        default: break
        }
        state.values(count &- state.done, width: width)
        delta = state.delta
        value = state.value
    }
}

/// The running state of `IntegerColumn.unpack`: where the next value's bits start (at a byte
/// boundary between groups) and where its point is.
private struct Unpacking {
    var bytes: UnsafePointer<UInt8>
    var bit = 0
    var out: UnsafeMutableRawPointer
    var delta: Int64
    var value: Int64
    var done = 0

    init(bytes: UnsafePointer<UInt8>, out: UnsafeMutableRawPointer, delta: Int64, value: Int64) {
        self.bytes = bytes
        self.out = out
        self.delta = delta
        self.value = value
    }

    @inline(__always)
    private mutating func add(_ word: UInt64, shift: Int, mask: UInt64, at offset: Int) {
        delta &+= ZigZag.decode((word &>> UInt64(shift)) & mask)
        value &+= delta
        out.storeBytes(of: value, toByteOffset: offset, as: Int64.self)
    }

    @inline(__always)
    private func word(at byte: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(bytes + byte).loadUnaligned(as: UInt64.self))
    }

    /// `count` groups of eight values, `width` ≤ 16 bytes each (a constant where inlined). A
    /// group is one word of eight fields up to 8 bits, else two words of four, the second shifted
    /// to its first field (4 bits at most: it still holds the four). A word's zigzag fields are
    /// decoded together — each field's low bit spread over the field by a multiply, XORed onto
    /// the field's other bits shifted down — into `width`-bit two's complement fields, each then
    /// taken out sign-extended by two shifts.
    @inline(__always)
    mutating func groups(_ count: Int, width: Int) {
        let perWord = width <= 8 ? 8 : 4
        var lowBits: UInt64 = 0
        for f in 0..<perWord { lowBits |= 1 &<< UInt64(f &* width) }
        let field = UInt64.max &>> UInt64(64 &- width)
        let highBits = lowBits &* (field &>> 1)
        let stride = MetricPoint.stride
        for _ in 0..<count {
            for first in Swift.stride(from: 0, to: 8, by: perWord) {
                let bit = first &* width
                let word = self.word(at: bit &>> 3) &>> UInt64(bit & 7)
                let decoded = ((word &>> 1) & highBits) ^ ((word & lowBits) &* field)
                for f in 0..<perWord {
                    let signed = Int64(bitPattern: decoded &<< UInt64(64 &- width &* (f &+ 1)))
                    delta &+= signed &>> Int64(64 &- width)
                    value &+= delta
                    out.storeBytes(of: value, toByteOffset: (first &+ f) &* stride, as: Int64.self)
                }
            }
            bytes += width
            out += 8 &* stride
        }
        done &+= 8 &* count
    }

    /// `count` values one at a time, from `bit` on.
    mutating func values(_ count: Int, width: Int) {
        let mask = UInt64.max &>> UInt64(64 &- width)
        for _ in 0..<count {
            add(word(at: bit &>> 3), shift: bit & 7, mask: mask, at: 0)
            out += MetricPoint.stride
            bit &+= width
        }
        done &+= count
    }
}

/// Appends values of 1…64 bits, low bits first, into bytes: a 64-bit word at a time (one
/// unaligned store per 64 bits, not one per byte), then the last partial word's bytes.
struct BitWriter {
    let out: UnsafeMutablePointer<UInt8>
    var position: Int
    private var accumulator: UInt64 = 0
    /// Bits held in `accumulator`, 0…63.
    private var bits = 0

    init(out: UnsafeMutablePointer<UInt8>, position: Int) {
        self.out = out
        self.position = position
    }

    /// Appends the low `width` bits of `value`, 1 ≤ `width` ≤ 64, whose higher bits are zero.
    @inline(__always)
    mutating func put(_ value: UInt64, width: Int) {
        accumulator |= value &<< UInt64(bits)
        let filled = bits &+ width
        if filled < 64 {
            bits = filled
            return
        }
        UnsafeMutableRawPointer(out + position).storeBytes(of: accumulator.littleEndian, as: UInt64.self)
        position &+= 8
        // What did not fit: the value's bits above the 64 - `bits` that did (none when bits is 0).
        accumulator = bits == 0 ? 0 : value &>> UInt64(64 &- bits)
        bits = filled &- 64
    }

    /// Writes the last partial word's bytes and returns the position after them.
    mutating func finish() -> Int {
        var left = bits
        while left > 0 {
            out[position] = UInt8(truncatingIfNeeded: accumulator)
            position &+= 1
            accumulator &>>= 8
            left &-= 8
        }
        accumulator = 0
        bits = 0
        return position
    }
}

/// Reads values of 1…64 bits, low bits first. Never reads at or past `limit`.
struct BitReader {
    let bytes: UnsafePointer<UInt8>
    var bitPosition: Int
    let limit: Int

    @inline(__always)
    mutating func take(_ width: Int) -> UInt64 {
        let byte = bitPosition >> 3
        let shift = UInt64(bitPosition & 7)
        bitPosition += width
        if width <= 56 && byte + 8 <= limit {
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes + byte).loadUnaligned(as: UInt64.self))
            return (word >> shift) & ((1 << UInt64(width)) - 1)
        }
        // Wide values, or the last bytes of the buffer: byte by byte.
        var result: UInt64 = 0
        var got = 0
        var index = byte
        var skip = Int(shift)
        while got < width && index < limit {
            let available = 8 - skip
            let chunk = UInt64(bytes[index]) >> UInt64(skip)
            result |= got < 64 ? chunk << UInt64(got) : 0
            got += available
            skip = 0
            index += 1
        }
        return width == 64 ? result : result & ((1 << UInt64(width)) - 1)
    }
}
