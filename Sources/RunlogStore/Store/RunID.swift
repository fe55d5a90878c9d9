#if canImport(Glibc)
    import Glibc
#endif

/// A run's identity: 16 random bytes, written as 32 lowercase hex digits.
public struct RunID: Hashable, Sendable, Comparable, CustomStringConvertible {
    let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a run id has 16 bytes")
        self.bytes = bytes
    }

    /// A new random id.
    public static func random() -> RunID {
        var generator = SystemRandomNumberGenerator()
        return RunID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Parses 32 hex digits (either case); nil for anything else.
    public init?(_ hex: String) {
        guard hex.utf8.count == 32, let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    public var description: String { Hex.encode(bytes) }

    public static func < (a: RunID, b: RunID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

}
