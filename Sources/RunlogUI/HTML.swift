import Runlog

/// HTML written straight into a string, escaping by default: `text` and every attribute value are
/// escaped, so a run named `<script>` is shown as text. Only `raw` writes markup, and it is given
/// only markup this module made (SVG from `Chart`, fragments of other `HTML` values).
struct HTML {
    private(set) var output = ""

    init(capacity: Int = 4096) { output.reserveCapacity(capacity) }

    /// An element with escaped attributes (nil values are left out; "" writes a bare attribute)
    /// and the content `body` writes.
    mutating func element(
        _ name: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:],
        _ body: (inout HTML) -> Void = { _ in }
    ) {
        open(name, attributes)
        body(&self)
        output += "</"
        output += name.description
        output += ">"
    }

    /// An element without content or end tag (`<input>`, `<br>`, `<link>`).
    mutating func void(_ name: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:]) {
        open(name, attributes)
    }

    /// An element holding only `content`, escaped.
    mutating func element(
        _ name: StaticString, _ attributes: KeyValuePairs<StaticString, String?> = [:], text content: String
    ) {
        element(name, attributes) { $0.text(content) }
    }

    mutating func text(_ content: String) { HTML.escape(content, into: &output) }

    /// An SVG `<text>` label of class `name` at (x, y), `content` escaped; `middle` centres it on y.
    mutating func svgText(
        _ content: String, class name: StaticString, x: some CustomStringConvertible, y: some CustomStringConvertible,
        anchor: StaticString? = nil, middle: Bool = false
    ) {
        output += "<text class=\"\(name)\" x=\"\(x)\" y=\"\(y)\""
        if let anchor { output += " text-anchor=\"\(anchor)\"" }
        output += middle ? " dominant-baseline=\"middle\">" : ">"
        text(content)
        output += "</text>"
    }

    /// Markup this module made; never data.
    mutating func raw(_ markup: String) { output += markup }

    private mutating func open(_ name: StaticString, _ attributes: KeyValuePairs<StaticString, String?>) {
        output += "<"
        output += name.description
        for (key, value) in attributes {
            guard let value else { continue }
            output += " "
            output += key.description
            if !value.isEmpty {
                output += "=\""
                HTML.escape(value, into: &output)
                output += "\""
            }
        }
        output += ">"
    }

    /// Escapes `&`, `<`, `>`, quotes; writes control characters (other than tab and newline) and
    /// bidirectional overrides as U+FFFD, so data can neither close markup nor reorder text.
    static func escape(_ text: String, into output: inout String) {
        var plain = true
        for byte in text.utf8
        where byte < 0x20 || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<")
            || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte >= 0x80
        {
            plain = false
            break
        }
        if plain {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default:
                if TextSafety.isControl(scalar) || TextSafety.isBidiControl(scalar) {
                    output += "\u{FFFD}"
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
    }

    static func escape(_ text: String) -> String {
        var output = ""
        escape(text, into: &output)
        return output
    }
}

/// Percent-encoding for a URL's query values and path segments.
enum URLText {
    private static let unreserved: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

    static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += "%"
                output += String(byte >> 4, radix: 16, uppercase: true)
                output += String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// A query string from pairs, leaving out nil and empty values.
    static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { key, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return encode(key) + "=" + encode(value)
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
