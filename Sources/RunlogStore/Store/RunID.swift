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
        let digits = Array(hex.utf8)
        guard digits.count == 32 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for i in stride(from: 0, to: 32, by: 2) {
            guard let high = RunID.nibble(digits[i]), let low = RunID.nibble(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var description: String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for byte in bytes {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func < (a: RunID, b: RunID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
