/// Walks the records of one segment, a window of bytes at a time, so memory stays bounded whatever
/// the file's size.
///
/// A bad record (impossible length, checksum mismatch) is resynchronised past: the scanner looks for
/// the next offset where a well-formed record of a known type starts. When none follows:
/// - in the run's last segment, the bad bytes are a torn tail — what a crashed writer leaves — and
///   the log simply ends there; a writer truncates it. A crashed process leaves only a prefix of
///   the record it was writing (or, after a power cut, zeros the file system allocated but never
///   wrote), so a tail that starts with a *whole* record failing its checksum (or one whose length
///   field alone is wrong) was damaged after it was written: that is corruption, reported, and
///   left in place (the next writer starts a new segment);
/// - in an earlier segment, they are corruption, reported with file and offset.
struct SegmentScanner {
    let file: String
    let isLast: Bool
    let maxPayloadLength: Int
    private(set) var problems: [StoreProblem] = []
    private(set) var tornTail: TornTail?
    /// Whether the last segment ends in damaged bytes rather than a torn write: reported as
    /// corruption, and kept — a writer continues in a new segment instead of cutting them off.
    private(set) var damagedTail = false
    /// The offset just past the last good record: where reading resumes and writing appends.
    private(set) var end: Int64
    /// While looking for the next good record: where the bad bytes began, why they are bad, and
    /// whether they cannot be a torn write (a whole record failing its checksum).
    private var bad: (offset: Int64, reason: String, damaged: Bool)?

    init(file: String, isLast: Bool, start: Int64, maxPayloadLength: Int = RecordFrame.maxPayloadLength) {
        self.file = file
        self.isLast = isLast
        self.end = start
        self.maxPayloadLength = maxPayloadLength
    }

    /// The smallest window that always holds a whole record.
    var minimumWindow: Int { RecordFrame.headerSize + maxPayloadLength + 1 }

    /// Scans `bytes`, which sit at file offset `base` and end the file when `atEOF`, calling
    /// `visit(type, offset, payload)` for each well-formed record of a known type. Returns the file
    /// offset the next window must start at, or nil once the segment is done. Windows other than the
    /// last must hold at least `minimumWindow` bytes.
    mutating func scan(
        _ bytes: UnsafeRawBufferPointer, base: Int64, atEOF: Bool,
        _ visit: (RecordType, Int64, UnsafeRawBufferPointer) -> Void
    ) -> Int64? {
        var i = 0
        while true {
            if let bad {
                switch nextRecord(bytes, from: i, atEOF: atEOF) {
                case .found(let next):
                    let skipped = base + Int64(next) - bad.offset
                    problems.append(
                        StoreProblem(
                            .corruptRecord, DiskLocation(file: file, offset: bad.offset),
                            "\(bad.reason); \(skipped) bytes skipped to the next good record"))
                    self.bad = nil
                    i = next
                case .needMore(let from):
                    return base + Int64(from)
                case .none:
                    let rest = base + Int64(bytes.count) - bad.offset
                    if isLast && !bad.damaged {
                        tornTail = TornTail(file: file, offset: bad.offset, byteCount: rest, reason: bad.reason)
                    } else if isLast {
                        damagedTail = true
                        problems.append(
                            StoreProblem(
                                .corruptRecord, DiskLocation(file: file, offset: bad.offset),
                                "\(bad.reason) in a record written whole, not torn; the \(rest) bytes to the end of the segment were skipped"
                            ))
                    } else {
                        problems.append(
                            StoreProblem(
                                .corruptRecord, DiskLocation(file: file, offset: bad.offset),
                                "\(bad.reason); the \(rest) bytes to the end of the segment were skipped"))
                    }
                    self.bad = nil
                    return nil
                }
                continue
            }
            if i == bytes.count { return atEOF ? nil : base + Int64(i) }
            switch RecordFrame.parse(bytes, at: i, maxPayloadLength: maxPayloadLength) {
            case .record(let typeByte, let length):
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[(i + RecordFrame.headerSize)..<(i + RecordFrame.headerSize + length)])
                if let type = RecordType(rawValue: typeByte) {
                    visit(type, base + Int64(i), payload)
                } else {
                    problems.append(
                        StoreProblem(
                            .unknownRecordType, DiskLocation(file: file, offset: base + Int64(i)),
                            "record type \(typeByte) of \(length) bytes skipped"))
                }
                i += RecordFrame.headerSize + length
                end = base + Int64(i)
            case .incomplete(let reason):
                // More of the file may hold the rest of the record: read on from it.
                guard atEOF else { return base + Int64(i) }
                let damagedLength = RecordFrame.hasDamagedLength(bytes, at: i)
                bad = (base + Int64(i), damagedLength ? "record length field damaged" : reason, damagedLength)
                i += 1
            case .bad(let reason):
                // Zeros to the end of the file are space the file system allocated and a crash kept
                // from being written (a power cut after the size was extended): torn, not damaged.
                let zeroFilled = atEOF && !bytes[i...].contains { $0 != 0 }
                bad = (base + Int64(i), zeroFilled ? "zero-filled to the end of the file" : reason, !zeroFilled)
                i += 1
            }
        }
    }

    private enum Search {
        case found(Int)
        /// Candidates from this index need bytes past the window.
        case needMore(Int)
        case none
    }

    /// The first index from `start` where a well-formed record of a known type starts. Cheap tests
    /// (type byte, length bound) come before the checksum, so garbage is passed over quickly.
    private func nextRecord(_ bytes: UnsafeRawBufferPointer, from start: Int, atEOF: Bool) -> Search {
        var candidate = start
        while candidate < bytes.count {
            guard candidate + RecordFrame.headerSize <= bytes.count else { return atEOF ? .none : .needMore(candidate) }
            if RecordType(rawValue: bytes[candidate + 8]) != nil {
                let length = Int(
                    UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate + 4, as: UInt32.self)))
                if length <= maxPayloadLength {
                    if candidate + RecordFrame.headerSize + length > bytes.count {
                        if !atEOF { return .needMore(candidate) }
                    } else if case .record = RecordFrame.parse(bytes, at: candidate, maxPayloadLength: maxPayloadLength)
                    {
                        return .found(candidate)
                    }
                }
            }
            candidate += 1
        }
        return atEOF ? .none : .needMore(candidate)
    }
}
