/// Walks the records of one segment's bytes, from `start` to the end of what was read.
///
/// A bad record (impossible length, checksum mismatch) is resynchronised past: the scanner looks for
/// the next offset where a well-formed record of a known type starts. When none follows:
/// - in the run's last segment, the bad bytes are a torn tail — what a crashed writer leaves — and
///   the log simply ends there;
/// - in an earlier segment, they are corruption, reported with file and offset.
struct SegmentScanner {
    let file: String
    let bytes: UnsafeRawBufferPointer
    /// The file offset of `bytes[0]`.
    let baseOffset: Int64
    let isLast: Bool

    struct Result {
        /// The offset just past the last good record: where reading resumes and writing appends.
        var end: Int64
        var tornTail: TornTail?
        var problems: [StoreProblem] = []
    }

    /// Calls `visit(type, fileOffset, payload)` for each well-formed record of a known type.
    func scan(
        from start: Int, _ visit: (RecordType, Int64, UnsafeRawBufferPointer) -> Void
    ) -> Result {
        var offset = start
        var result = Result(end: baseOffset + Int64(start))
        while offset < bytes.count {
            switch RecordFrame.parse(bytes, at: offset) {
            case .record(let typeByte, let length):
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[(offset + RecordFrame.headerSize)..<(offset + RecordFrame.headerSize + length)])
                if let type = RecordType(rawValue: typeByte) {
                    visit(type, location(offset), payload)
                } else {
                    result.problems.append(
                        StoreProblem(
                            .unknownRecordType, DiskLocation(file: file, offset: location(offset)),
                            "record type \(typeByte) of \(length) bytes skipped"))
                }
                offset += RecordFrame.headerSize + length
                result.end = location(offset)
            case .incomplete(let reason), .bad(let reason):
                guard let next = nextRecord(after: offset) else {
                    let here = DiskLocation(file: file, offset: location(offset))
                    if isLast {
                        result.tornTail = TornTail(
                            file: file, offset: here.offset, byteCount: Int64(bytes.count - offset), reason: reason)
                    } else {
                        result.problems.append(
                            StoreProblem(.corruptRecord, here, "\(reason); the \(bytes.count - offset) bytes to the end of the segment were skipped"))
                    }
                    return result
                }
                result.problems.append(
                    StoreProblem(
                        .corruptRecord, DiskLocation(file: file, offset: location(offset)),
                        "\(reason); \(next - offset) bytes skipped to the next good record"))
                offset = next
            }
        }
        return result
    }

    private func location(_ offset: Int) -> Int64 { baseOffset + Int64(offset) }

    /// The first offset after `offset` where a well-formed record of a known type starts. Cheap
    /// tests (type byte, length bound) come before the checksum, so garbage is passed quickly.
    private func nextRecord(after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate + RecordFrame.headerSize <= bytes.count {
            if RecordType(rawValue: bytes[candidate + 8]) != nil {
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate + 4, as: UInt32.self)))
                if length <= min(RecordFrame.maxPayloadLength, bytes.count - candidate - RecordFrame.headerSize),
                    case .record = RecordFrame.parse(bytes, at: candidate)
                {
                    return candidate
                }
            }
            candidate += 1
        }
        return nil
    }
}
