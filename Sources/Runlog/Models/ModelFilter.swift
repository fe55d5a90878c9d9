import Foundation

/// The filters of the model searches (logged models, registered models, model versions):
/// comparisons joined by AND, as MLflow's grammar for them has it. A column is an attribute
/// (`name`, `run_id`, …), `params.k`, `tags.k` (or `tag.k`), `metrics.k`; a key may be backquoted
/// or double-quoted. Operators: `=`, `!=`, `<`, `<=`, `>`, `>=` (numbers), `LIKE`, `ILIKE`, `IN`,
/// `NOT IN`. Tokens are the run filter's (`FilterLexer`).
struct ModelFilter: Sendable {
    enum Column: Hashable, Sendable {
        case attribute(String)
        case param(String)
        case tag(String)
        case metric(String)
    }

    enum Value: Hashable, Sendable {
        case text(String)
        case number(Double)
    }

    let column: Column
    let op: String
    let values: [Value]

    static func parse(_ text: String) throws(RunlogError) -> [ModelFilter] {
        let tokens = try FilterLexer.tokens(text)
        var clauses: [ModelFilter] = []
        var i = 0
        func fail(_ message: String, _ token: FilterToken) -> RunlogError {
            RunlogError(.filterSyntax, "Invalid filter '\(text)': \(message) at column \(token.column)")
        }
        while tokens[i].kind != .end {
            if !clauses.isEmpty {
                guard case .word(let word) = tokens[i].kind, word.uppercased() == "AND" else {
                    throw fail("expected AND, found \(tokens[i].text)", tokens[i])
                }
                i += 1
            }
            // The column: a word, or a prefix word and a quoted key (`tags.`x``, `tags."x"`).
            var name: String
            switch tokens[i].kind {
            case .word(let word): name = word
            case .quotedKey(let key): name = key
            case .string(let key) where tokens[i].text.hasPrefix("\""): name = key
            default: throw fail("expected a column, found \(tokens[i].text)", tokens[i])
            }
            i += 1
            if name.hasSuffix("."), tokens[i].adjacent {
                switch tokens[i].kind {
                case .quotedKey(let key), .string(let key):
                    name += key
                    i += 1
                default: break
                }
            }
            let column = try Self.column(name)
            // The operator.
            var op: String
            switch tokens[i].kind {
            case .comparator(let c): op = c == "==" ? "=" : c == "<>" ? "!=" : c
            case .word(let word) where ["LIKE", "ILIKE", "IN"].contains(word.uppercased()): op = word.uppercased()
            case .word(let word) where word.uppercased() == "NOT":
                i += 1
                guard case .word(let next) = tokens[i].kind, ["IN", "LIKE", "ILIKE"].contains(next.uppercased()) else {
                    throw fail("expected IN, LIKE or ILIKE after NOT", tokens[i])
                }
                op = "NOT " + next.uppercased()
            default: throw fail("expected an operator, found \(tokens[i].text)", tokens[i])
            }
            i += 1
            // The value, or a parenthesised list of them.
            var values: [Value] = []
            func value() throws(RunlogError) -> Value {
                defer { i += 1 }
                switch tokens[i].kind {
                case .string(let s): return .text(s)
                case .number(let n): return .number(n)
                default: throw fail("expected a value, found \(tokens[i].text)", tokens[i])
                }
            }
            if op.hasSuffix("IN") {
                guard tokens[i].kind == .open else { throw fail("expected ( after \(op)", tokens[i]) }
                i += 1
                while true {
                    values.append(try value())
                    if tokens[i].kind == .comma {
                        i += 1
                    } else if tokens[i].kind == .close {
                        i += 1
                        break
                    } else {
                        throw fail("expected , or ) in a list", tokens[i])
                    }
                }
            } else {
                values.append(try value())
            }
            clauses.append(ModelFilter(column: column, op: op, values: values))
        }
        return clauses
    }

    /// `name`, `attributes.name`, `params.k`, `tags.k`, `tag.k`, `metrics.k`.
    static func column(_ name: String) throws(RunlogError) -> Column {
        guard let dot = name.firstIndex(of: ".") else { return .attribute(name) }
        let prefix = name[..<dot].lowercased()
        let key = String(name[name.index(after: dot)...])
        switch prefix {
        case "attribute", "attributes": return .attribute(key)
        case "param", "params": return .param(key)
        case "tag", "tags": return .tag(key)
        case "metric", "metrics": return .metric(key)
        default:
            throw RunlogError(.filterSyntax, "Invalid entity type '\(name[..<dot])' in '\(name)'")
        }
    }

    func matches(_ value: (Column) -> Value?) -> Bool {
        let actual = value(column)
        switch op {
        case "=": return actual == values.first
        case "!=": return actual != values.first
        case "IN": return actual.map(values.contains) ?? false
        case "NOT IN": return actual.map { !values.contains($0) } ?? true
        case "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE":
            guard case .text(let text) = actual, case .text(let pattern) = values.first else { return false }
            return LikePattern.matches(text, pattern, caseInsensitive: op.hasSuffix("ILIKE")) != op.hasPrefix("NOT")
        default:
            guard let actual, let expected = values.first else { return false }
            switch op {
            case "<": return Self.less(actual, expected)
            case "<=": return !Self.less(expected, actual)
            case ">": return Self.less(expected, actual)
            default: return !Self.less(actual, expected)
            }
        }
    }

    /// Whether `a` sorts before `b` by `order`'s columns and directions, or nil when they tie on all.
    static func precedes(
        _ a: (Column) -> Value?, _ b: (Column) -> Value?, by order: [(column: Column, ascending: Bool)]
    ) -> Bool? {
        for (column, ascending) in order {
            let (x, y) = (a(column), b(column))
            if x != y { return less(x, y) == ascending }
        }
        return nil
    }

    /// Numbers before text; nil (no value) last.
    static func less(_ a: Value?, _ b: Value?) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y
        case (.text(let x), .text(let y)): return x < y
        case (.number, .text): return true
        case (.some, nil): return true
        default: return false
        }
    }

    /// One page of `items`: the token is the offset where the page starts, base64 of
    /// `{"offset": n}` as MLflow writes it.
    static func page<T>(_ items: [T], maxResults: Int, token: String?) throws(RunlogError)
        -> (models: [T], nextPageToken: String?)
    {
        var start = 0
        if let token, !token.isEmpty {
            guard let data = Data(base64Encoded: token),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let offset = object["offset"] as? Int, offset >= 0
            else { throw RunlogError(.invalidArgument, "Invalid page token, could not base64-decode") }
            start = min(offset, items.count)
        }
        let end = start + min(max(0, maxResults), items.count - start)
        let next = end < items.count ? Data("{\"offset\": \(end)}".utf8).base64EncodedString() : nil
        return (Array(items[start..<end]), next)
    }
}
