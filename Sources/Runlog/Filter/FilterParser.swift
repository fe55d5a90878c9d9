/// Parses MLflow's filter grammar, with `OR`, parentheses, `IN`, `NOT` and metric aggregates on top:
///
/// ```
/// filter     := or
/// or         := and (OR and)*
/// and        := not (AND not)*
/// not        := NOT not | '(' or ')' | comparison
/// comparison := column comparator value
///             | column [NOT] (LIKE | ILIKE) string
///             | column [NOT] IN '(' value (',' value)* ')'
/// column     := entity '.' key ['.' aggregate]        entity: metrics params tags attributes (and aliases)
/// key        := word | `backquoted key`
/// aggregate  := min | max | first | last | count      (metrics only; a bare metric means last)
/// ```
///
/// Keywords are case-insensitive. A metric key ending in `.min`, `.max`, `.first`, `.last` or
/// `.count` reads as an aggregate; backquote such a key to mean it literally (metrics.`x.min`).
/// Types are checked here: metrics and times take numbers and ordering comparators; params, tags
/// and the other attributes take quoted strings, `=`, `!=`, `LIKE`, `ILIKE` and `IN`.
struct FilterParser {
    /// Bounds on a filter's shape: parsing, evaluating and freeing a filter recurse over its tree,
    /// so an input of a million '(' must be an error, not a stack overflow (found by fuzzing).
    static let maxNesting = 64
    static let maxComparisons = 1000

    private let tokens: [FilterToken]
    private var index = 0
    private var nesting = 0
    private var comparisons = 0

    private init(_ tokens: [FilterToken]) {
        self.tokens = tokens
    }

    /// The filter in `text`; nil for an empty filter, which every run matches.
    static func parse(_ text: String) throws(RunlogError) -> FilterExpression? {
        var parser = FilterParser(try FilterLexer.tokens(text))
        if parser.current.kind == .end { return nil }
        let expression = try parser.or()
        guard parser.current.kind == .end else {
            throw parser.syntax("expected AND, OR or the end of the filter, found \(parser.current.text.quoted)")
        }
        return expression
    }

    /// One order-by clause: a column, then optionally ASC or DESC (ascending by default).
    static func parseOrder(_ text: String) throws(RunlogError) -> (column: FilterColumn, ascending: Bool) {
        var parser = FilterParser(try FilterLexer.tokens(text))
        let column = try parser.column()
        var ascending = true
        if parser.keyword("DESC") {
            ascending = false
        } else {
            _ = parser.keyword("ASC")
        }
        guard parser.current.kind == .end else {
            throw parser.syntax(
                "expected ASC, DESC or the end of the order-by clause, found \(parser.current.text.quoted)")
        }
        return (column, ascending)
    }

    private var current: FilterToken { tokens[index] }
    private var upcoming: FilterToken { tokens[Swift.min(index + 1, tokens.count - 1)] }

    private mutating func advance() { index = Swift.min(index + 1, tokens.count - 1) }

    private func isKeyword(_ token: FilterToken, _ word: String) -> Bool {
        if case .word(let text) = token.kind { return text.uppercased() == word }
        return false
    }

    private mutating func keyword(_ word: String) -> Bool {
        guard isKeyword(current, word) else { return false }
        advance()
        return true
    }

    private mutating func or() throws(RunlogError) -> FilterExpression {
        var left = try and()
        while keyword("OR") { left = .or(left, try and()) }
        return left
    }

    private mutating func and() throws(RunlogError) -> FilterExpression {
        var left = try not()
        while keyword("AND") { left = .and(left, try not()) }
        return left
    }

    private mutating func not() throws(RunlogError) -> FilterExpression {
        guard isKeyword(current, "NOT") || current.kind == .open else {
            comparisons += 1
            guard comparisons <= Self.maxComparisons else {
                throw syntax("the filter has more than \(Self.maxComparisons) comparisons")
            }
            return .comparison(try comparison())
        }
        guard nesting < Self.maxNesting else {
            throw syntax("the filter nests NOT and parentheses more than \(Self.maxNesting) deep")
        }
        nesting += 1
        defer { nesting -= 1 }
        if keyword("NOT") { return .not(try not()) }
        advance()
        let inner = try or()
        guard current.kind == .close else {
            throw syntax("expected ')' to close the '(', found \(current.text.quoted)")
        }
        advance()
        return inner
    }

    private mutating func comparison() throws(RunlogError) -> FilterComparison {
        let columnToken = current
        let column = try column()
        let opToken = current
        let op: FilterOperator
        switch current.kind {
        case .comparator(let text):
            op = FilterOperator(comparator: text)!
            advance()
        case .word(let word):
            let negated = word.uppercased() == "NOT"
            if negated { advance() }
            switch current.kind {
            case .word(let next) where ["LIKE", "ILIKE", "IN"].contains(next.uppercased()):
                op = FilterOperator(rawValue: (negated ? "NOT " : "") + next.uppercased())!
                advance()
            default:
                throw syntax(
                    "expected \(negated ? "LIKE, ILIKE or IN after NOT" : "a comparator") after \(column), found \(current.text.quoted)"
                )
            }
        default:
            throw syntax(
                "expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN) after \(column), found \(current.text.quoted)"
            )
        }
        let valueToken = current
        let value: FilterValue
        if op == .in_ || op == .notIn {
            value = try list()
        } else {
            value = try scalar()
        }
        return try FilterComparison.checked(
            column, op, value, columnToken: columnToken, opToken: opToken, valueToken: valueToken)
    }

    private mutating func scalar() throws(RunlogError) -> FilterValue {
        defer { advance() }
        switch current.kind {
        case .number(let number): return .number(number)
        case .string(let string): return .string(string)
        default: throw syntax("expected a value (a number or a quoted string), found \(current.text.quoted)")
        }
    }

    private mutating func list() throws(RunlogError) -> FilterValue {
        guard current.kind == .open else {
            throw syntax("expected '(' to open the IN list, found \(current.text.quoted)")
        }
        advance()
        var numbers: [Double] = []
        var strings: [String] = []
        let start = current
        repeat {
            switch try scalar() {
            case .number(let number): numbers.append(number)
            case .string(let string): strings.append(string)
            default: break
            }
        } while current.kind == .comma
            && {
                advance(); return true
            }()
        guard current.kind == .close else {
            throw syntax("expected ',' or ')' in the IN list, found \(current.text.quoted)")
        }
        advance()
        guard numbers.isEmpty || strings.isEmpty else {
            throw RunlogError(
                .filterType, "type error at column \(start.column): an IN list mixes numbers and strings",
                column: start.column)
        }
        return numbers.isEmpty ? .strings(strings) : .numbers(numbers)
    }

    /// `entity.key[.aggregate]`, the key plain, backquoted or double-quoted; or an attribute's bare
    /// name (`status`, `run_name`, `start_time`), as MLflow takes it.
    private mutating func column() throws(RunlogError) -> FilterColumn {
        let token = current
        if case .word(let word) = token.kind, !word.contains("."),
            let attribute = FilterColumn.Attribute(
                rawValue: Self.attributeAliases[word.lowercased()] ?? word.lowercased())
        {
            advance()
            return .attribute(attribute)
        }
        guard case .word(let word) = token.kind, let dot = word.firstIndex(of: ".") else {
            throw syntax(
                "expected a column such as metrics.loss, params.lr, tags.team or attributes.status, found \(token.text.quoted)"
            )
        }
        advance()
        let entity = word[..<dot].lowercased()
        var key = String(word[word.index(after: dot)...])
        var aggregateText: Substring?
        if key.isEmpty {
            // `params."opt"` takes a double-quoted key as MLflow does; single quotes stay values.
            let quoted: String
            switch current.kind {
            case .quotedKey(let text) where current.adjacent: quoted = text
            case .string(let text) where current.adjacent && current.text.hasPrefix("\""): quoted = text
            default: throw syntax("expected a key after \(word.quoted), found \(current.text.quoted)")
            }
            key = quoted
            advance()
            if case .word(let suffix) = current.kind, current.adjacent, suffix.hasPrefix(".") {
                aggregateText = suffix.dropFirst()
                advance()
            }
        } else if let last = key.lastIndex(of: "."),
            FilterColumn.Aggregate(rawValue: String(key[key.index(after: last)...])) != nil,
            ["metrics", "metric"].contains(entity)
        {
            aggregateText = key[key.index(after: last)...]
            key = String(key[..<last])
        }
        guard !key.isEmpty else { throw syntax("expected a key after \(word.quoted)") }
        switch entity {
        case "metrics", "metric":
            let name = aggregateText.map(String.init) ?? "last"
            guard let aggregate = FilterColumn.Aggregate(rawValue: name) else {
                throw typeError(token, "unknown aggregate .\(name); use .min, .max, .first, .last or .count")
            }
            return .metric(key, aggregate)
        case "params", "param", "parameters", "parameter", "tags", "tag", "attributes", "attribute", "attr", "run":
            if let aggregateText {
                throw typeError(token, "aggregates such as .\(aggregateText) apply to metrics, not to \(entity)")
            }
            if entity.hasPrefix("param") { return .param(key) }
            if entity.hasPrefix("tag") { return .tag(key) }
            guard let attribute = FilterColumn.Attribute(rawValue: Self.attributeAliases[key] ?? key) else {
                let known = FilterColumn.Attribute.allCases.map(\.rawValue).joined(separator: ", ")
                throw typeError(token, "unknown attribute \"\(key)\"; attributes are \(known)")
            }
            return .attribute(attribute)
        case "dataset", "datasets":
            guard let field = FilterColumn.DatasetField(rawValue: key), aggregateText == nil else {
                throw typeError(token, "unknown dataset field \"\(key)\"; dataset fields are name, digest, context")
            }
            return .dataset(field)
        default:
            throw typeError(
                token,
                "unknown column kind \"\(entity)\" in \(word.quoted); use metrics, params, tags, attributes or dataset")
        }
    }

    /// Other names of attributes: MLflow's `created` and `name`, and `id`.
    static let attributeAliases = ["created": "start_time", "id": "run_id", "name": "run_name"]

    private func syntax(_ message: String) -> RunlogError {
        RunlogError(.filterSyntax, "syntax error at column \(current.column): \(message)", column: current.column)
    }

    private func typeError(_ token: FilterToken, _ message: String) -> RunlogError {
        RunlogError(.filterType, "error at column \(token.column): \(message)", column: token.column)
    }
}

extension FilterComparison {
    /// The comparison, if its operator and value suit its column's type.
    static func checked(
        _ column: FilterColumn, _ op: FilterOperator, _ value: FilterValue, columnToken: FilterToken,
        opToken: FilterToken, valueToken: FilterToken
    ) throws(RunlogError) -> FilterComparison {
        func fail(_ token: FilterToken, _ message: String) -> RunlogError {
            RunlogError(.filterType, "type error at column \(token.column): \(message)", column: token.column)
        }
        var value = value
        var strings: [String]
        var numbers: [Double]
        switch value {
        case .string(let text): (strings, numbers) = ([text], [])
        case .strings(let list): (strings, numbers) = (list, [])
        case .number(let number): (strings, numbers) = ([], [number])
        case .numbers(let list): (strings, numbers) = ([], list)
        }
        let isPattern = [.like, .ilike, .notLike, .notIlike].contains(op)
        // A time attribute compared with quoted text takes an ISO 8601 date or time.
        if case .attribute(let attribute) = column, attribute.isNumeric, !strings.isEmpty, !isPattern {
            var times: [Double] = []
            for text in strings {
                guard let milliseconds = TimeText.epochMilliseconds(iso: text) else {
                    throw fail(
                        valueToken,
                        "\(column) is a time; compare it with epoch milliseconds or an ISO 8601 date or time such as '2026-12-01' or '2026-12-01T08:30', not \(text.singleQuoted)"
                    )
                }
                times.append(Double(milliseconds))
            }
            if case .string = value { value = .number(times[0]) } else { value = .numbers(times) }
            (strings, numbers) = ([], times)
        }
        let isOrdering = [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(op)
        if isPattern && column.isNumeric {
            throw fail(opToken, "\(op.rawValue) compares strings; \(column) is a number")
        }
        if isOrdering && !column.isNumeric {
            throw fail(opToken, "'\(op.rawValue)' does not apply to \(column), a string; use =, !=, LIKE, ILIKE or IN")
        }
        if column.isNumeric, let text = strings.first {
            throw fail(valueToken, "\(column) is a number; compare it with a number, not \(text.singleQuoted)")
        }
        if !column.isNumeric, let number = numbers.first {
            throw fail(
                valueToken, "\(column) is a string; compare it with a quoted string such as '\(number.formatted)'")
        }
        if case .attribute(.status) = column, !isPattern,
            let unknown = strings.first(where: { RunStatus(name: $0) == nil })
        {
            let known = RunStatus.allCases.map(\.description).joined(separator: ", ")
            throw fail(valueToken, "unknown status \(unknown.singleQuoted); statuses are \(known)")
        }
        return FilterComparison(column: column, op: op, value: value)
    }
}
extension String {
    var quoted: String { self == "end of input" ? self : "'\(self)'" }
    var singleQuoted: String { "'\(self)'" }
}

extension Double {
    var formatted: String { self == rounded() && Swift.abs(self) < 1e15 ? String(Int64(self)) : "\(self)" }
}
