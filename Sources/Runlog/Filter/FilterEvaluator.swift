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
            switch (op, value) {
            case (.equal, .number(let v)): return number == v
            case (.notEqual, .number(let v)): return number != v
            case (.less, .number(let v)): return number < v
            case (.lessOrEqual, .number(let v)): return number <= v
            case (.greater, .number(let v)): return number > v
            case (.greaterOrEqual, .number(let v)): return number >= v
            case (.in_, .numbers(let list)): return list.contains(number)
            case (.notIn, .numbers(let list)): return !list.contains(number)
            default: return false
            }
        }
        guard let text = column.string(in: run) else { return false }
        switch (op, value) {
        case (.equal, .string(let v)): return text == v
        case (.notEqual, .string(let v)): return text != v
        case (.like, .string(let v)): return LikePattern.matches(text, v, caseInsensitive: false)
        case (.ilike, .string(let v)): return LikePattern.matches(text, v, caseInsensitive: true)
        case (.notLike, .string(let v)): return !LikePattern.matches(text, v, caseInsensitive: false)
        case (.notIlike, .string(let v)): return !LikePattern.matches(text, v, caseInsensitive: true)
        case (.in_, .strings(let list)): return list.contains(text)
        case (.notIn, .strings(let list)): return !list.contains(text)
        default: return false
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
        default: nil
        }
    }
}

/// SQL LIKE: `%` matches any run of characters, `_` any one character, and a backslash makes the
/// next character literal.
enum LikePattern {
    enum Element: Equatable {
        case literal(Character)
        case one
        case any
    }

    static func elements(_ pattern: String, caseInsensitive: Bool) -> [Element] {
        var elements: [Element] = []
        var escaped = false
        for c in caseInsensitive ? pattern.lowercased() : pattern {
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
        return elements
    }

    static func matches(_ text: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        let pattern = elements(pattern, caseInsensitive: caseInsensitive)
        let text = Array(caseInsensitive ? text.lowercased() : text)
        // Greedy matching that backtracks to the last `%`: linear in practice, O(n·m) at worst.
        var t = 0
        var p = 0
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == .one || pattern[p] == .literal(text[t]) {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == .any {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == .any { p += 1 }
        return p == pattern.count
    }
}
