/// Text from data made safe to show: control characters and bidirectional overrides are what let
/// a tag value retitle a terminal, clear it, or reorder what is printed next to it.
public enum TextSafety {
    /// C0 controls other than tab and newline, DEL and the C1 controls.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t" && scalar != "\n") || (0x7F...0x9F).contains(scalar.value)
    }

    /// U+202A…U+202E and U+2066…U+2069: the embeddings, overrides and isolates that reorder text.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// `text` for a terminal: each control character, tab and newline too, and each bidirectional
    /// control written as a visible escape (`\x1b`, `\u{202e}`), as git and ls show such names.
    /// `keepingLines` leaves newlines as they are (a message of several lines).
    public static func forTerminal(_ text: String, keepingLines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value >= 0x7F }) else { return text }
        var output = ""
        for scalar in text.unicodeScalars {
            if keepingLines && scalar == "\n" {
                output.unicodeScalars.append(scalar)
            } else if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                output += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else if isBidiControl(scalar) {
                output += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
