/// Evaluates filters against runs. A comparison on a metric, param or tag the run does not have is
/// false — whatever the operator, `!=` and `NOT IN` included, as in MLflow — while `NOT (…)`
/// negates whatever is inside it.
extension FilterExpression {
    func matches(_ run: RunInfo) -> Bool {
        switch self {
        case .comparison(let comparison): comparison.matches(run)
        case .and(let left, let right): left.matches(run) && right.matches(run)
        case .or(let left, let right): left.matches(run) || right.matches(run)
        case .not(let inner): !inner.matches(run)
        }
    }
}

extension FilterComparison {
    func matches(_ run: RunInfo) -> Bool {
        if column.isNumeric {
            guard let number = column.number(in: run) else { return false }
            return op.holds(number, value)
        }
        if case .dataset(let field) = column {
            return DatasetInput.all(in: run).contains { dataset in
                field.value(of: dataset).map { op.holds($0, value, pattern: pattern) } ?? false
            }
        }
        guard let text = column.string(in: run) else { return false }
        return op.holds(text, value, pattern: pattern)
    }
}

extension FilterOperator {
    /// The operator of a comparator token (`=`, `==`, `!=`, `<>`, `<`, `<=`, `>`, `>=`).
    init?(comparator: String) {
        let operators: [String: FilterOperator] = [
            "=": .equal, "==": .equal, "!=": .notEqual, "<>": .notEqual, "<": .less, "<=": .lessOrEqual,
            ">": .greater, ">=": .greaterOrEqual,
        ]
        guard let op = operators[comparator] else { return nil }
        self = op
    }

    /// `number <op> value`; false where the operator does not take numbers.
    func holds(_ number: Double, _ value: FilterValue) -> Bool {
        switch (self, value) {
        case (.equal, .number(let v)): number == v
        case (.notEqual, .number(let v)): number != v
        case (.less, .number(let v)): number < v
        case (.lessOrEqual, .number(let v)): number <= v
        case (.greater, .number(let v)): number > v
        case (.greaterOrEqual, .number(let v)): number >= v
        case (.in_, .numbers(let list)): list.contains(number)
        case (.notIn, .numbers(let list)): !list.contains(number)
        default: false
        }
    }

    /// `text <op> value`, with `pattern` the compiled pattern of a LIKE or ILIKE comparison.
    func holds(_ text: String, _ value: FilterValue, pattern: LikePattern?) -> Bool {
        switch (self, value) {
        case (.equal, .string(let v)): text == v
        case (.notEqual, .string(let v)): text != v
        case (.like, _), (.ilike, _): pattern?.matches(text) ?? false
        case (.notLike, _), (.notIlike, _): !(pattern?.matches(text) ?? true)
        case (.in_, .strings(let list)): list.contains(text)
        case (.notIn, .strings(let list)): !list.contains(text)
        default: false
        }
    }
}

extension FilterColumn {
    /// The column's value for `run`, if it is numeric and the run has it.
    func number(in run: RunInfo) -> Double? {
        switch self {
        case .metric(let key, let aggregate):
            guard let summary = run.metrics[key] else { return nil }
            switch aggregate {
            case .last: return summary.last.value
            case .first: return summary.first.value
            case .min: return summary.min
            case .max: return summary.max
            case .count: return Double(summary.count)
            }
        case .attribute(.startTime): return run.startTime.map(Double.init)
        case .attribute(.endTime): return run.endTime.map(Double.init)
        case .attribute(.lastWriteTime): return run.lastWriteTime.map(Double.init)
        default: return nil
        }
    }

    /// The column's value for `run`, if it is a string and the run has it.
    func string(in run: RunInfo) -> String? {
        switch self {
        case .param(let key): run.params[key]
        case .tag(let key): run.tags[key]
        case .attribute(.status): run.status.description
        case .attribute(.runName): run.name
        case .attribute(.runID): run.id.description
        case .attribute(.experimentID): run.experimentID
        case .dataset(let field): DatasetInput.all(in: run).lazy.compactMap(field.value).first
        default: nil
        }
    }
}

extension FilterColumn.DatasetField {
    func value(of dataset: DatasetInput) -> String? {
        switch self {
        case .name: dataset.name
        case .digest: dataset.fields["digest"]
        case .context: dataset.tags["mlflow.data.context"]
        }
    }
}

/// SQL LIKE: `%` matches any run of characters, `_` any one character, and a backslash makes the
/// next character literal. Compiled once per comparison; matched over Unicode scalars.
struct LikePattern: Sendable {
    enum Element: Equatable, Sendable {
        case literal(Unicode.Scalar)
        case one
        case any
    }

    let elements: [Element]
    let caseInsensitive: Bool

    init(_ pattern: String, caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        var elements: [Element] = []
        var escaped = false
        for c in (caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars {
            if escaped {
                elements.append(.literal(c))
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                elements.append(c == "%" ? .any : c == "_" ? .one : .literal(c))
            }
        }
        if escaped { elements.append(.literal("\\")) }
        self.elements = elements
    }

    static func matches(_ text: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        LikePattern(pattern, caseInsensitive: caseInsensitive).matches(text)
    }

    func matches(_ text: String) -> Bool {
        let scalars = caseInsensitive ? text.lowercased().unicodeScalars : text.unicodeScalars
        // Greedy matching that backtracks to the last `%`: linear in practice, O(n·m) at worst.
        var t = scalars.startIndex
        var p = 0
        var star: Int?
        var resume = t
        while t != scalars.endIndex {
            if p < elements.count, elements[p] == .one || elements[p] == .literal(scalars[t]) {
                t = scalars.index(after: t)
                p += 1
            } else if p < elements.count, elements[p] == .any {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume = scalars.index(after: resume)
                t = resume
            } else {
                return false
            }
        }
        while p < elements.count, elements[p] == .any { p += 1 }
        return p == elements.count
    }
}
