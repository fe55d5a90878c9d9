/// Segment files are named by their sequence number: `00000001.segment`, `00000002.segment`…
package enum SegmentName {
    static let suffix = ".segment"

    package static func fileName(_ sequence: UInt32) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + suffix
    }

    static func sequence(of fileName: String) -> UInt32? {
        guard fileName.hasSuffix(suffix) else { return nil }
        let stem = fileName.dropLast(suffix.count)
        guard stem.count == 8, stem.allSatisfy(\.isASCII) else { return nil }
        return UInt32(stem)
    }

    /// The sequence numbers of the segments in `directory`, ascending.
    static func list(in directory: String, fileSystem: any FileSystem) throws -> [UInt32] {
        sequences(among: try fileSystem.contentsOfDirectory(directory))
    }

    /// The sequence numbers of the segments among a directory's entries, ascending.
    static func sequences(among names: [String]) -> [UInt32] {
        names.compactMap(sequence(of:)).sorted()
    }
}

/// What one listing of a run's directory showed: its segments and whether it held a tombstone
/// (`Store.deleteRun`). A reader learns both from the listing it makes anyway to find new segments.
struct RunDirectoryListing {
    /// Sequence numbers, ascending.
    var segments: [UInt32]
    var tombstoned: Bool
    /// Where the segment `sequence` was seen to end just after the listing, when it was looked at:
    /// reading it from `offset` then finds nothing, so the read is not made again.
    var end: (sequence: UInt32, offset: Int64)?

    init(of directory: String, fileSystem: any FileSystem) throws {
        let names = try fileSystem.contentsOfDirectory(directory)
        segments = SegmentName.sequences(among: names)
        tombstoned = names.contains(Store.tombstoneName)
    }
}
