/// A parsed filter: comparisons joined by AND, OR and NOT.
indirect enum FilterExpression: Sendable {
    case comparison(FilterComparison)
    case and(FilterExpression, FilterExpression)
    case or(FilterExpression, FilterExpression)
    case not(FilterExpression)
}

/// What a comparison or an order-by clause looks at.
enum FilterColumn: Sendable, Hashable, CustomStringConvertible {
    enum Aggregate: String, Sendable, CaseIterable {
        case last, min, max, first, count
    }

    enum Attribute: String, Sendable, CaseIterable {
        case status, runName = "run_name", runID = "run_id", experimentID = "experiment_id"
        case startTime = "start_time", endTime = "end_time", lastWriteTime = "last_write_time"

        var isNumeric: Bool { self == .startTime || self == .endTime || self == .lastWriteTime }
    }

    /// What MLflow's `dataset.` columns look at: a dataset input's name, digest, or context (its
    /// `mlflow.data.context` tag). A run matches when any of its datasets does.
    enum DatasetField: String, Sendable, CaseIterable {
        case name, digest, context
    }

    case metric(String, Aggregate)
    case param(String)
    case tag(String)
    case attribute(Attribute)
    case dataset(DatasetField)

    var isNumeric: Bool {
        switch self {
        case .metric: true
        case .attribute(let attribute): attribute.isNumeric
        case .param, .tag, .dataset: false
        }
    }

    var description: String {
        switch self {
        case .metric(let key, let aggregate): "metrics.\(key)" + (aggregate == .last ? "" : ".\(aggregate.rawValue)")
        case .param(let key): "params.\(key)"
        case .tag(let key): "tags.\(key)"
        case .attribute(let attribute): "attributes.\(attribute.rawValue)"
        case .dataset(let field): "dataset.\(field.rawValue)"
        }
    }
}

enum FilterOperator: String, Sendable {
    case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case like = "LIKE", ilike = "ILIKE", notLike = "NOT LIKE", notIlike = "NOT ILIKE", in_ = "IN", notIn = "NOT IN"
}

enum FilterValue: Sendable {
    case number(Double)
    case string(String)
    case numbers([Double])
    case strings([String])
}

struct FilterComparison: Sendable {
    let column: FilterColumn
    let op: FilterOperator
    let value: FilterValue
    /// The compiled pattern of a LIKE or ILIKE comparison.
    let pattern: LikePattern?

    init(column: FilterColumn, op: FilterOperator, value: FilterValue) {
        self.column = column
        self.op = op
        self.value = value
        pattern = op.pattern(for: value)
    }
}

extension FilterOperator {
    /// The compiled pattern of a LIKE or ILIKE comparison with `value`; nil for other operators.
    func pattern(for value: FilterValue) -> LikePattern? {
        guard case .string(let text) = value, [.like, .ilike, .notLike, .notIlike].contains(self) else { return nil }
        return LikePattern(text, caseInsensitive: self == .ilike || self == .notIlike)
    }
}
