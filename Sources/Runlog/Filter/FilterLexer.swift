/// A token of a filter or order-by expression, with the 1-based column it starts at.
struct FilterToken: Equatable {
    enum Kind: Equatable {
        /// A bare word: a keyword (AND, OR, NOT, IN, LIKE, ILIKE, ASC, DESC) or a column such as
        /// `metrics.loss` (letters, digits and `_ . - / :`).
        case word(String)
        /// A `backquoted` key, for keys with spaces or other special characters.
        case quotedKey(String)
        case string(String)
        case number(Double)
        /// `=`, `==`, `!=`, `<>`, `<`, `<=`, `>`, `>=`.
        case comparator(String)
        case open, close, comma, end
    }

    let kind: Kind
    let column: Int
    /// The token's characters as written, for error messages.
    let text: String
    /// Whether the token follows the previous one without white space.
    let adjacent: Bool
}

/// Splits an expression into tokens. Strings take single or double quotes, with the quote
/// doubled or backslash-escaped inside (`\\` is one backslash; any other backslash stays, so
/// that LIKE patterns keep their `\%` and `\_` escapes); keys take backquotes.
struct FilterLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    static func tokens(_ text: String) throws(RunlogError) -> [FilterToken] {
        var lexer = FilterLexer(text)
        var tokens: [FilterToken] = []
        while true {
            let token = try lexer.next(after: tokens.last)
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next(after previous: FilterToken?) throws(RunlogError) -> FilterToken {
        let before = position
        while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
        let adjacent = position == before && previous != nil
        let start = position
        func token(_ kind: FilterToken.Kind) -> FilterToken {
            FilterToken(
                kind: kind, column: start + 1, text: String(String.UnicodeScalarView(scalars[start..<position])),
                adjacent: adjacent)
        }
        guard position < scalars.count else {
            return FilterToken(kind: .end, column: start + 1, text: "end of input", adjacent: adjacent)
        }
        let c = scalars[position]
        switch c {
        case "(":
            position += 1
            return token(.open)
        case ")":
            position += 1
            return token(.close)
        case ",":
            position += 1
            return token(.comma)
        case "=", "!", "<", ">":
            position += 1
            if position < scalars.count, scalars[position] == "=" || (c == "<" && scalars[position] == ">") {
                position += 1
            }
            let text = String(String.UnicodeScalarView(scalars[start..<position]))
            guard text != "!" else { throw syntax(start, "'!' must be followed by '='") }
            return token(.comparator(text))
        case "'", "\"":
            return token(.string(try quoted(c, start)))
        case "`":
            return token(.quotedKey(try quoted(c, start)))
        default:
            if isNumberStart(after: previous) {
                return token(.number(try number(start)))
            }
            guard isWordCharacter(c) else { throw syntax(start, "unexpected character '\(c)'") }
            while position < scalars.count, isWordCharacter(scalars[position]) { position += 1 }
            return token(.word(String(String.UnicodeScalarView(scalars[start..<position]))))
        }
    }

    /// A number starts with a digit, or with a sign or point followed by a digit where a value is
    /// expected (so `metrics.loss` and `-` inside keys stay words).
    private func isNumberStart(after previous: FilterToken?) -> Bool {
        let c = scalars[position]
        if ("0"..."9").contains(c) { return true }
        guard c == "-" || c == "+" || c == "." else { return false }
        let valueExpected: Bool =
            switch previous?.kind {
            case .comparator, .open, .comma: true
            case .word(let word): ["IN", "LIKE", "ILIKE"].contains(word.uppercased())
            default: false
            }
        guard valueExpected, position + 1 < scalars.count else { return false }
        let d = scalars[position + 1]
        return ("0"..."9").contains(d) || (d == "." && c != ".")
    }

    private mutating func number(_ start: Int) throws(RunlogError) -> Double {
        while position < scalars.count {
            let c = scalars[position]
            let previous = position > start ? scalars[position - 1] : " "
            if ("0"..."9").contains(c) || c == "." || c == "e" || c == "E"
                || (position == start && (c == "-" || c == "+"))
                || ((c == "-" || c == "+") && (previous == "e" || previous == "E"))
            {
                position += 1
            } else {
                break
            }
        }
        let text = String(String.UnicodeScalarView(scalars[start..<position]))
        guard let value = Double(text) else { throw syntax(start, "'\(text)' is not a number") }
        if position < scalars.count, isWordCharacter(scalars[position]) {
            throw syntax(start, "'\(text)\(scalars[position])' is not a number")
        }
        return value
    }

    private mutating func quoted(_ quote: Unicode.Scalar, _ start: Int) throws(RunlogError) -> String {
        position += 1
        var text = String.UnicodeScalarView()
        while position < scalars.count {
            let c = scalars[position]
            if c == "\\", position + 1 < scalars.count {
                let next = scalars[position + 1]
                if next != quote && next != "\\" { text.append(c) }
                text.append(next)
                position += 2
            } else if c == quote {
                if position + 1 < scalars.count, scalars[position + 1] == quote {
                    text.append(quote)
                    position += 2
                } else {
                    position += 1
                    return String(text)
                }
            } else {
                text.append(c)
                position += 1
            }
        }
        throw syntax(start, "unterminated \(quote == "`" ? "quoted key" : "string") starting with \(quote)")
    }

    private func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "." || c == "-" || c == "/" || c == ":"
    }

    private func syntax(_ index: Int, _ message: String) -> RunlogError {
        RunlogError(.filterSyntax, "syntax error at column \(index + 1): \(message)", column: index + 1)
    }
}
