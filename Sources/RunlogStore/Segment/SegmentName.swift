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
        try fileSystem.contentsOfDirectory(directory).compactMap(sequence(of:)).sorted()
    }
}
