import Foundation

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
    /// Where the reader is, for messages: `metrics[3].value`.
    private var path: [PathComponent] = []

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Reads the whole document with `body`, which must consume exactly one value.
    static func read<T>(_ data: Data, _ body: (inout JSONReader) throws(MLflowError) -> T) throws(MLflowError) -> T {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(MLflowError) -> T in
                var reader = JSONReader(raw)
                let value = try body(&reader)
                reader.skipWhitespace()
                guard reader.position == raw.count else { throw reader.syntax("unexpected text after the JSON value") }
                return value
            }
        }
        return try result.get()
    }

    // MARK: Structure

    /// Reads an object, calling `field` with each key; `field` reads (or skips) the value.
    mutating func object(_ field: (inout JSONReader, String) throws(MLflowError) -> Void) throws(MLflowError) {
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
            let key = try rawString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw syntax("expected ':' after \"\(key.prefix(60))\"") }
            position += 1
            path.append(.key(key))
            try field(&self, key)
            path.removeLast()
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
            path.append(.index(index))
            try element(&self, index)
            path.removeLast()
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
        guard matches("null") else { return false }
        position += 4
        return true
    }

    // MARK: Values

    mutating func string() throws(MLflowError) -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw typeMismatch("a string") }
        return try rawString()
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
        // The standard library's parser rounds correctly (C locale): the exact double the text
        // names. A number beyond a double's range is refused, not read as infinity.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw typeMismatch("a number within a double's range") }
        return number
    }

    /// An integer that fits in 64 bits (a number with a fraction or exponent is one only when it
    /// is a whole number below 2^53, as JSON encoders write them).
    mutating func int64() throws(MLflowError) -> Int64 {
        skipWhitespace()
        let (start, end, integral) = try numberToken()
        if integral {
            var value: Int64 = 0
            let negative = bytes[start] == UInt8(ascii: "-")
            for i in (negative ? start + 1 : start)..<end {
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

    private mutating func enter() throws(MLflowError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw syntax("nested deeper than \(Self.maxDepth) levels") }
    }

    /// The number at the position (JSON's grammar), consumed; `integral` when it has no fraction
    /// or exponent.
    private mutating func numberToken() throws(MLflowError) -> (start: Int, end: Int, integral: Bool) {
        let start = position
        func digits() -> Int {
            let from = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                position += 1
            }
            return position - from
        }
        if peek() == UInt8(ascii: "-") { position += 1 }
        let first = peek()
        let whole = digits()
        guard whole > 0 else {
            position = start
            throw peek() == nil ? syntax("unexpected end of the body") : typeMismatch("a number")
        }
        guard first != UInt8(ascii: "0") || whole == 1 else { throw syntax("a number has a leading zero") }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            position += 1
            integral = false
            guard digits() > 0 else { throw syntax("a number has no digits after '.'") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            integral = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw syntax("a number has no digits in its exponent") }
        }
        return (start, position, integral)
    }

    /// The string at the position (which holds its opening quote), unescaped and UTF-8 checked.
    private mutating func rawString() throws(MLflowError) -> String {
        position += 1
        let start = position
        // The common case: no escapes, taken as it is; all ASCII (keys, ids) needs no validation.
        var ascii = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                position += 1
                if ascii { return String(decoding: raw, as: UTF8.self) }
                guard let text = String(validating: raw, as: UTF8.self) else {
                    throw syntax("a string is not valid UTF-8")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw syntax("a string holds a raw control character") }
            ascii = ascii && byte < 0x80
            position += 1
        }
        var scalars: [UInt8] = Array(bytes[start..<position])
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

    func typeMismatch(_ expected: String) -> MLflowError {
        path.isEmpty
            ? MLflowError.invalid("The request body must be \(expected)")
            : MLflowError.invalid("Invalid value for \(qualified): expected \(expected)")
    }

    func syntax(_ problem: String) -> MLflowError {
        MLflowError.invalid("The request body is not valid JSON (\(problem) at byte \(position))")
    }

    /// The full path of the field being read: `metrics[3].value`.
    private var qualified: String {
        var text = ""
        for component in path {
            switch component {
            case .key(let key): text += (text.isEmpty ? "" : ".") + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return "'\(text)'"
    }
}
