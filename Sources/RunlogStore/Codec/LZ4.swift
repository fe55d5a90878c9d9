import CLZ4

/// LZ4's block format through the system liblz4. Runlog frames, sizes and checksums blocks itself,
/// so the frame format would only add bytes.
enum LZ4 {
    /// The largest input one call accepts.
    static let maxInputSize = Int(LZ4_MAX_INPUT_SIZE)

    static func compressBound(_ size: Int) -> Int {
        Int(LZ4_compressBound(Int32(size)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or 0 when it does not fit.
    static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard source.count > 0, source.count <= maxInputSize else { return 0 }
        return Int(
            LZ4_compress_default(
                source.baseAddress!.assumingMemoryBound(to: CChar.self),
                destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(clamping: destination.count)))
    }

    /// Decompresses `source`, which must expand to exactly `destination.count` bytes.
    /// liblz4's safe decoder never reads or writes out of bounds, whatever the input.
    static func decompress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(DecodeError) {
        guard destination.count > 0 else {
            guard source.isEmpty else { throw DecodeError("LZ4 data for an empty block") }
            return
        }
        guard let input = source.baseAddress, source.count <= maxInputSize else {
            throw DecodeError("LZ4 data is empty or too large")
        }
        let n = LZ4_decompress_safe(
            input.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        guard n == destination.count else {
            throw DecodeError(
                n < 0 ? "malformed LZ4 data" : "LZ4 data expands to \(n) bytes, expected \(destination.count)")
        }
    }
}
