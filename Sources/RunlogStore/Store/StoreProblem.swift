/// Something wrong found in a run's files: where it is and what it is. Reading goes on past it.
public struct StoreProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A record's length or checksum is bad; the bytes up to the next good record were skipped.
        case corruptRecord = "corrupt record"
        /// A checksummed record whose contents cannot be decoded (a block, a key).
        case undecodableRecord = "undecodable record"
        /// A well-formed record of a type this build does not know (written by a newer build); skipped.
        case unknownRecordType = "unknown record type"
        /// A segment whose header is damaged or belongs elsewhere; the whole segment was skipped.
        case damagedSegment = "damaged segment"
        /// The run's index snapshot fails its checksum or does not decode. Nothing is lost — the
        /// index is read from the log instead and the snapshot rewritten — but its bytes changed.
        case damagedIndexSnapshot = "damaged index snapshot"
        /// A segment is shorter than the run's index snapshot recorded (or gone), or the bytes at
        /// the end the snapshot covered changed: segments only grow, so its end was cut off or
        /// overwritten after the snapshot was taken.
        case truncatedSegment = "truncated segment"
    }

    public let kind: Kind
    public let location: DiskLocation
    public let detail: String

    public init(_ kind: Kind, _ location: DiskLocation, _ detail: String) {
        self.kind = kind
        self.location = location
        self.detail = detail
    }

    /// Unknown record types are a notice, not damage: a newer writer may add them.
    public var isCorruption: Bool { kind != .unknownRecordType }

    /// Whether what was logged may be missing from what is read: records or segments were skipped
    /// or cut off. A damaged index snapshot loses nothing (the log is read instead), and an
    /// unknown record type is a notice.
    public var losesData: Bool { kind != .unknownRecordType && kind != .damagedIndexSnapshot }

    public var description: String { "\(kind.rawValue) in \(location): \(detail)" }
}

/// The end of a run's active segment where a writer stopped mid-record: the normal end of the log
/// after a crash, not corruption. Readers stop there; the next writer truncates it.
public struct TornTail: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    /// Where the incomplete record starts: the length the file is truncated to.
    public let offset: Int64
    /// How many bytes follow `offset` to the end of the file.
    public let byteCount: Int64
    public let reason: String

    public var description: String { "torn tail of \(file): \(byteCount) bytes from offset \(offset) (\(reason))" }
}
