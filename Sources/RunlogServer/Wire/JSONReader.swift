import Foundation
import Runlog

/// A pull reader over one JSON document, for the request bodies on the hot path (`log-batch`):
/// the caller walks objects and arrays and reads typed values in place, with no intermediate tree
/// and no `Codable` machinery. Strict JSON (RFC 8259); bytes are untrusted, so every read is
/// bounds-checked, nesting is limited, and a failure names the field it was reading.
///
/// Doubles accept MLflow's strings for non-finite values (`"NaN"`, `"Infinity"`, `"-Infinity"`),
/// as the `Codable` path does.
struct JSONReader {
    /// Arrays and objects nested deeper than this are refused (a stack-depth bound).
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var depth = 0
    /// Where the reader is, for messages: `metrics[3].value` — a stack of at most `maxDepth`
    /// components (one per open container), in a buffer `read` provides.
    private let path: UnsafeMutableBufferPointer<PathComponent>
    private var pathCount = 0

    private enum PathComponent {
        /// A member name, as the byte range it has in the body (no String is made unless a
        /// message needs it).
        case key(Range<Int>)
        case index(Int)
    }

    /// An object's member name, compared with the names a body may hold without making a
    /// `String` of it: a thousand-metric batch has four thousand of them.
    struct Key {
        /// The name's bytes in the body, when it has no escapes.
        fileprivate let raw: UnsafeRawBufferPointer
        /// The name, when it had escapes (rare: none of MLflow's field names needs one).
        fileprivate let unescaped: String?

        @inline(__always)
        static func ~= (pattern: StaticString, key: Key) -> Bool {
            guard key.unescaped == nil else { return key.unescaped == pattern.description }
            guard key.raw.count == pattern.utf8CodeUnitCount else { return false }
            for i in 0..<key.raw.count where key.raw[i] != pattern.utf8Start[i] { return false }
            return true
        }

        /// The name as text.
        var text: String { unescaped ?? String(decoding: raw, as: UTF8.self) }
    }

    /// Strings recently read, by their bytes: a batch names the same few metric keys a thousand
    /// times, and each is made into a `String` once.
    struct StringCache {
        fileprivate var entries: [(raw: UnsafeRawBufferPointer, text: String)] = []
        fileprivate var next = 0
        static let capacity = 16
        init() {}
    }

    private init(_ bytes: UnsafeRawBufferPointer, path: UnsafeMutableBufferPointer<PathComponent>) {
        self.bytes = bytes
        self.path = path
    }

    /// Reads the whole document with `body`, which must consume exactly one value.
    static func read<T>(_ data: Data, _ body: (inout JSONReader) throws(MLflowError) -> T) throws(MLflowError) -> T {
        let result = data.withUnsafeBytes { raw in
            withUnsafeTemporaryAllocation(of: PathComponent.self, capacity: maxDepth + 1) { path in
                Result { () throws(MLflowError) -> T in
                    var reader = JSONReader(raw, path: path)
                    let value = try body(&reader)
                    reader.skipWhitespace()
                    guard reader.position == raw.count else {
                        throw reader.syntax("unexpected text after the JSON value")
                    }
                    return value
                }
            }
        }
        return try result.get()
    }

    // MARK: Structure

    /// Reads an object, calling `field` with each key; `field` reads (or skips) the value.
    mutating func object(_ field: (inout JSONReader, Key) throws(MLflowError) -> Void) throws(MLflowError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw typeMismatch("a JSON object") }
        position += 1
        try enter()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a quoted key") }
            let nameStart = position + 1
            let key: Key
            if let plain = try plainString() {
                key = Key(raw: UnsafeRawBufferPointer(rebasing: bytes[plain]), unescaped: nil)
            } else {
                key = Key(raw: UnsafeRawBufferPointer(rebasing: bytes[0..<0]), unescaped: try rawString())
            }
            let name = nameStart..<(position - 1)
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw syntax("expected ':' after \"\(key.text.prefix(60))\"") }
            position += 1
            push(.key(name))
            try field(&self, key)
            pathCount -= 1
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or '}' in an object")
            }
        }
    }

    /// Reads an array, calling `element` with each index; `element` reads the value.
    mutating func array(_ element: (inout JSONReader, Int) throws(MLflowError) -> Void) throws(MLflowError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else { throw typeMismatch("a JSON array") }
        position += 1
        try enter()
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return
        }
        var index = 0
        while true {
            push(.index(index))
            try element(&self, index)
            pathCount -= 1
            index += 1
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return
            default: throw syntax("expected ',' or ']' in an array")
            }
        }
    }

    /// True, and the `null` consumed, when the next value is `null` (a field left unset).
    mutating func null() -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "n"), matches("null") else { return false }
        position += 4
        return true
    }

    // MARK: Values

    mutating func string() throws(MLflowError) -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw typeMismatch("a string") }
        return try rawString()
    }

    /// A string that `cache` may already hold: the same bytes give the same `String` without
    /// decoding them again.
    mutating func string(cache: inout StringCache) throws(MLflowError) -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw typeMismatch("a string") }
        guard let plain = try plainString() else { return try rawString() }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[plain])
        for entry in cache.entries
        where entry.raw.count == raw.count
            && (raw.isEmpty || memcmp(entry.raw.baseAddress!, raw.baseAddress!, raw.count) == 0)
        {
            return entry.text
        }
        let text = String(decoding: raw, as: UTF8.self)
        if cache.entries.count < StringCache.capacity {
            cache.entries.append((raw, text))
        } else {
            cache.entries[cache.next] = (raw, text)
            cache.next = (cache.next + 1) % StringCache.capacity
        }
        return text
    }

    /// A number, or one of MLflow's strings for NaN and the infinities.
    mutating func double() throws(MLflowError) -> Double {
        skipWhitespace()
        if peek() == UInt8(ascii: "\"") {
            switch try rawString() {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: throw typeMismatch("a number")
            }
        }
        let (start, end, _) = try numberToken()
        let token = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        // The common case (up to 19 digits, a small exponent) exactly and fast; the rest by the
        // standard library's parser, which rounds correctly (C locale). Either way the exact
        // double the text names. A number beyond a double's range is refused, not read as
        // infinity.
        if let number = DecimalText.quickDouble(token.assumingMemoryBound(to: UInt8.self)) { return number }
        guard let number = Double(String(decoding: token, as: UTF8.self)), number.isFinite else {
            throw typeMismatch("a number within a double's range")
        }
        return number
    }

    /// An integer that fits in 64 bits (a number with a fraction or exponent is one only when it
    /// is a whole number below 2^53, as JSON encoders write them).
    mutating func int64() throws(MLflowError) -> Int64 {
        skipWhitespace()
        // The common case in one pass: up to 18 digits (no overflow possible), no leading zero,
        // no fraction or exponent.
        let count = bytes.count
        var i = position
        let negative = i < count && bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let first = i
        var magnitude: Int64 = 0
        while i < count, case let digit = bytes[i] &- UInt8(ascii: "0"), digit < 10 {
            magnitude = magnitude &* 10 &+ Int64(digit)
            i += 1
        }
        let digits = i - first
        if digits > 0, digits <= 18, digits == 1 || bytes[first] != UInt8(ascii: "0"),
            i == count || (bytes[i] != UInt8(ascii: ".") && bytes[i] | 0x20 != UInt8(ascii: "e"))
        {
            position = i
            return negative ? -magnitude : magnitude
        }
        let (start, end, integral) = try numberToken()
        if integral {
            var value: Int64 = 0
            let negative = bytes[start] == UInt8(ascii: "-")
            let first = negative ? start + 1 : start
            // Up to 18 digits cannot overflow: the common case, without checks.
            if end - first <= 18 {
                for i in first..<end { value = value &* 10 &+ Int64(bytes[i] &- UInt8(ascii: "0")) }
                return negative ? -value : value
            }
            for i in first..<end {
                let digit = Int64(bytes[i] &- UInt8(ascii: "0"))
                let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) =
                    negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                guard !o1, !o2 else { throw typeMismatch("an integer of 64 bits") }
                value = next
            }
            return value
        }
        position = start
        let number = try double()
        guard number.rounded() == number, abs(number) < 9_007_199_254_740_992 else {
            throw typeMismatch("an integer")
        }
        return Int64(number)
    }

    /// Skips one value of any kind.
    /// Checks that `data` is one valid JSON value (RFC 8259: no trailing comma, no leading zero, no
    /// bad escape or raw control character), members the endpoint ignores included.
    static func validate(_ data: Data) throws(MLflowError) {
        try read(data) { (reader) throws(MLflowError) in try reader.skip() }
    }

    mutating func skip() throws(MLflowError) {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"): try object { (reader, _) throws(MLflowError) in try reader.skip() }
        case UInt8(ascii: "["): try array { (reader, _) throws(MLflowError) in try reader.skip() }
        case UInt8(ascii: "\""): _ = try rawString()
        case UInt8(ascii: "t") where matches("true"): position += 4
        case UInt8(ascii: "f") where matches("false"): position += 5
        case UInt8(ascii: "n") where matches("null"): position += 4
        default: _ = try numberToken()
        }
    }

    // MARK: Lexing

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private func matches(_ word: StaticString) -> Bool {
        guard position + word.utf8CodeUnitCount <= bytes.count else { return false }
        for i in 0..<word.utf8CodeUnitCount where bytes[position + i] != word.utf8Start[i] { return false }
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func push(_ component: PathComponent) {
        (path.baseAddress! + pathCount).initialize(to: component)
        pathCount += 1
    }

    private mutating func enter() throws(MLflowError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw syntax("nested deeper than \(Self.maxDepth) levels") }
    }

    /// The number at the position (JSON's grammar), consumed; `integral` when it has no fraction
    /// or exponent.
    private mutating func numberToken() throws(MLflowError) -> (start: Int, end: Int, integral: Bool) {
        let start = position
        let count = bytes.count
        var i = position
        /// Advances `i` over decimal digits; how many there were.
        func digits() -> Int {
            let from = i
            while i < count, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            return i - from
        }
        if i < count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let first: UInt8? = i < count ? bytes[i] : nil
        let whole = digits()
        guard whole > 0 else {
            throw i == count ? syntax("unexpected end of the body") : typeMismatch("a number")
        }
        guard first != UInt8(ascii: "0") || whole == 1 else {
            position = i
            throw syntax("a number has a leading zero")
        }
        var integral = true
        if i < count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard digits() > 0 else {
                position = i
                throw syntax("a number has no digits after '.'")
            }
        }
        if i < count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            integral = false
            if i < count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else {
                position = i
                throw syntax("a number has no digits in its exponent")
            }
        }
        position = i
        return (start, i, integral)
    }

    /// The common case of a string at the position (which holds its opening quote): no escapes.
    /// Consumes it and answers the range of its bytes, UTF-8 checked; nil, with nothing
    /// consumed, when it has an escape.
    private mutating func plainString() throws(MLflowError) -> Range<Int>? {
        let start = position + 1
        let count = bytes.count
        var i = start
        var high: UInt8 = 0
        // Eight bytes at a time while none of them is a quote, a backslash, a control character
        // or beyond ASCII; the loop below looks at the rest one by one.
        while i + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
            guard word & highs == 0, !hasZeroByte(word ^ (ones &* 0x22)), !hasZeroByte(word ^ (ones &* 0x5C)),
                (word &- ones &* 0x20) & ~word & highs == 0
            else { break }
            i += 8
        }
        while i < count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                // All ASCII (keys, ids) needs no validation.
                guard
                    high < 0x80
                        || String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self) != nil
                else { throw syntax("a string is not valid UTF-8") }
                return start..<i
            }
            if byte == UInt8(ascii: "\\") { return nil }
            guard byte >= 0x20 else {
                position = i
                throw syntax("a string holds a raw control character")
            }
            high |= byte
            i += 1
        }
        position = i
        throw syntax("unexpected end of the body")
    }

    /// The string at the position (which holds its opening quote), unescaped and UTF-8 checked.
    private mutating func rawString() throws(MLflowError) -> String {
        if let plain = try plainString() {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[plain]), as: UTF8.self)
        }
        position += 1
        var scalars: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw syntax("a string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = peek() else { throw syntax("unexpected end of the body") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard matches("\\u") else { throw syntax("a lone surrogate in a \\u escape") }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw syntax("a lone surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw syntax("a lone surrogate in a \\u escape") }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw syntax("a string has an unknown escape")
                }
            default:
                guard byte >= 0x20 else { throw syntax("a string holds a raw control character") }
                scalars.append(byte)
            }
        }
        throw syntax("unexpected end of the body")
    }

    private mutating func hex4() throws(MLflowError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw syntax("unexpected end of the body") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntax("a \\u escape has a non-hex digit")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Errors

    /// A value of the wrong type. A top-level field's is worded as MLflow's server words it, with
    /// the value as sent and Python's name of its type; a nested one names its whole path.
    func typeMismatch(_ expected: String) -> MLflowError {
        guard pathCount > 0 else { return MLflowError.invalid("The request body must be \(expected)") }
        guard pathCount == 1, let (text, type) = valueAhead() else {
            return MLflowError.invalid("Invalid value for \(qualified): expected \(expected)")
        }
        return MLflowError.invalid(
            "Invalid value \(text) for parameter \(qualified) supplied:  Hint: Value was of type '\(type)'. See the API "
                + "docs for more information about request parameters.")
    }

    /// The JSON text of the value at the reading position (at most 200 bytes of it), and Python's
    /// name of its type.
    private func valueAhead() -> (String, String)? {
        guard let first = peek() else { return nil }
        var end = position + 1
        switch first {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            return (first == UInt8(ascii: "[") ? "[...]" : "{...}", first == UInt8(ascii: "[") ? "list" : "dict")
        case UInt8(ascii: "\""):
            var escaped = false
            while end < bytes.count {
                let byte = bytes[end]
                end += 1
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    break
                }
            }
        default:
            while end < bytes.count,
                ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09].contains(bytes[end])
            {
                end += 1
            }
        }
        let text = String(
            decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<min(end, position + 200)]), as: UTF8.self)
        let type: String
        switch first {
        case UInt8(ascii: "\""): type = "str"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): type = "bool"
        case UInt8(ascii: "n"): type = "NoneType"
        case UInt8(ascii: "["): type = "list"
        case UInt8(ascii: "{"): type = "dict"
        default: type = text.contains(".") || text.lowercased().contains("e") ? "float" : "int"
        }
        return (text, type)
    }

    func syntax(_ problem: String) -> MLflowError {
        MLflowError.invalid("The request body is not valid JSON (\(problem) at byte \(position))")
    }

    /// The full path of the field being read: `metrics[3].value`.
    private var qualified: String {
        var text = ""
        for component in path[0..<pathCount] {
            switch component {
            case .key(let name):
                text +=
                    (text.isEmpty ? "" : ".")
                    + String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self)
            case .index(let index): text += "[\(index)]"
            }
        }
        return "'\(text)'"
    }
}
