/// One page of experiments.
public struct ExperimentPage: Sendable {
    public let experiments: [Experiment]
    /// Pass to the next `searchExperiments` with the same arguments for the next page.
    public let nextPageToken: String?
}

/// Which experiments a search looks at, as MLflow's `view_type`.
public enum ViewType: String, Sendable, CaseIterable {
    case activeOnly = "ACTIVE_ONLY"
    case deletedOnly = "DELETED_ONLY"
    case all = "ALL"

    func includes(_ lifecycle: Lifecycle) -> Bool {
        switch self {
        case .activeOnly: lifecycle == .active
        case .deletedOnly: lifecycle == .deleted
        case .all: true
        }
    }
}

extension TrackingStore {
    /// Creates an experiment, failing with `.alreadyExists` when the name is taken (MLflow's
    /// `create_experiment`); `id` chooses its id (MLflow's "0" for Default, ids kept on import).
    public func createExperiment(named name: String, id: String? = nil, tags: [String: String] = [:])
        throws(RunlogError) -> Experiment
    {
        for (key, value) in tags { try Validation.tag(key, value) }
        let (experiment, created) = try experimentFiles.create(name, id: id, tags: tags)
        guard created else {
            throw RunlogError(.alreadyExists, "experiment \"\(name)\" already exists (id \(experiment.id))")
        }
        return experiment
    }

    /// The experiment named `name`, or created with `id` (when the id is free) — how a server
    /// makes sure MLflow's experiment "0", "Default", exists.
    @discardableResult
    public func experiment(named name: String, id: String) throws(RunlogError) -> Experiment {
        if let existing = try experimentFiles.lookUp(name) { return existing }
        if let taken = try experimentFiles.load(id) { return taken }
        return try experimentFiles.create(name, id: id).experiment
    }

    @discardableResult
    public func renameExperiment(_ id: String, to name: String) throws(RunlogError) -> Experiment {
        try experimentFiles.rename(id, to: name)
    }

    /// Removes an experiment's tag; a tag it does not have is `.notFound`.
    @discardableResult
    public func deleteTag(_ key: String, onExperiment id: String) throws(RunlogError) -> Experiment {
        try experimentFiles.update(id) { (experiment) throws(RunlogError) in
            guard experiment.tags.removeValue(forKey: key) != nil else {
                throw RunlogError(.notFound, "No tag with name: \(key) in experiment with id \(id)")
            }
        }
    }

    /// Experiments matching `filter` — MLflow's experiment grammar: comparisons of `name`,
    /// `creation_time`, `last_update_time` and `tags.<key>` joined by AND, with `= != < <= > >=` on
    /// times and `= != LIKE ILIKE` on text — ordered by `orderBy` clauses of `name`,
    /// `experiment_id`, `creation_time` and `last_update_time` (default: creation, newest
    /// first), then by id.
    public func searchExperiments(
        _ filter: String = "", orderBy: [String] = [], maxResults: Int = 1000, pageToken: String? = nil,
        viewType: ViewType = .activeOnly
    ) throws(RunlogError) -> ExperimentPage {
        guard (1...TrackingStore.maxSearchResults).contains(maxResults) else {
            throw RunlogError(
                .invalidArgument, "max_results must be 1…\(TrackingStore.maxSearchResults), not \(maxResults)")
        }
        let conditions = try ExperimentFilter.parse(filter)
        let order = try orderBy.map { (clause) throws(RunlogError) in try ExperimentFilter.parseOrder(clause) }
        let fingerprint = PageToken.fingerprint(filter, orderBy, nil, viewType)
        let offset = try pageToken.map { (token) throws(RunlogError) in try PageToken.offset(token, fingerprint) } ?? 0
        let matching = try experiments(includeDeleted: true).filter { experiment in
            viewType.includes(experiment.lifecycle) && conditions.allSatisfy { $0.matches(experiment) }
        }
        // MLflow's default: newest first (its SQL store orders by creation_time DESC, experiment_id ASC).
        let clauses = order.isEmpty ? [(ExperimentFilter.Field.creationTime, false)] : order
        let sorted = matching.sorted { a, b in
            for (field, ascending) in clauses {
                let (x, y) = (field.value(a), field.value(b))
                if x != y { return ascending ? x < y : y < x }
            }
            return a.id < b.id
        }
        let page = Array(sorted.dropFirst(offset).prefix(maxResults))
        let next = offset + page.count < sorted.count ? PageToken.make(offset + page.count, fingerprint) : nil
        return ExperimentPage(experiments: page, nextPageToken: next)
    }
}

/// MLflow's experiment filter: `name LIKE 'mnist%' AND tags.team = 'ml' AND creation_time > 0`.
enum ExperimentFilter {
    enum Field: Hashable {
        case name, experimentID, creationTime, lastUpdateTime
        case tag(String)

        /// Times and ids compare as numbers when both are numeric, names as text.
        func value(_ experiment: Experiment) -> SortValue {
            switch self {
            case .name: .text(experiment.name)
            case .experimentID: Int64(experiment.id).map(SortValue.number) ?? .text(experiment.id)
            case .creationTime: .number(experiment.creationTime)
            case .lastUpdateTime: .number(experiment.lastUpdateTime ?? experiment.creationTime)
            case .tag(let key): experiment.tags[key].map(SortValue.text) ?? .missing
            }
        }
    }

    enum SortValue: Comparable {
        case number(Int64)
        case text(String)
        case missing
    }

    /// One comparison, evaluated by the run filter's operators (its LIKE pattern compiled once).
    struct Condition {
        let field: Field
        let op: FilterOperator
        let value: FilterValue
        let pattern: LikePattern?

        init(field: Field, op: FilterOperator, value: FilterValue) {
            self.field = field
            self.op = op
            self.value = value
            self.pattern = op.pattern(for: value)
        }

        func matches(_ experiment: Experiment) -> Bool {
            switch field.value(experiment) {
            case .number(let number): op.holds(Double(number), value)
            case .text(let text): op.holds(text, value, pattern: pattern)
            case .missing: false
            }
        }
    }

    static func parse(_ text: String) throws(RunlogError) -> [Condition] {
        let tokens = try FilterLexer.tokens(text)
        var conditions: [Condition] = []
        var i = 0
        func fail(_ token: FilterToken, _ message: String) -> RunlogError {
            RunlogError(.filterSyntax, "\(message) at column \(token.column)", column: token.column)
        }
        while tokens[i].kind != .end {
            if !conditions.isEmpty {
                guard case .word(let word) = tokens[i].kind, word.uppercased() == "AND" else {
                    throw fail(tokens[i], "expected AND, found \(tokens[i].text)")
                }
                i += 1
            }
            let field = try self.field(tokens[i], fail)
            i += 1
            let op: FilterOperator
            switch tokens[i].kind {
            case .comparator(let text): op = FilterOperator(comparator: text)!
            case .word(let word) where ["LIKE", "ILIKE"].contains(word.uppercased()):
                op = FilterOperator(rawValue: word.uppercased())!
            default: throw fail(tokens[i], "expected a comparison after \(tokens[i - 1].text), found \(tokens[i].text)")
            }
            let comparator = op == .like || op == .ilike ? op.rawValue : tokens[i].text
            i += 1
            let value = tokens[i]
            let numeric = field == .creationTime || field == .lastUpdateTime
            let operand: FilterValue
            switch value.kind {
            case .number(let number) where numeric && op != .like && op != .ilike: operand = .number(number)
            case .string(let text) where !numeric && [.equal, .notEqual, .like, .ilike].contains(op):
                operand = .string(text)
            default:
                throw RunlogError(
                    .filterType,
                    "\(tokens[i - 2].text) \(comparator) \(value.text) is not a valid comparison: "
                        + (numeric
                            ? "times compare with = != < <= > >= and a number"
                            : "names and tags compare with = != LIKE ILIKE and a quoted string"),
                    column: value.column)
            }
            conditions.append(Condition(field: field, op: op, value: operand))
            i += 1
        }
        return conditions
    }

    static func parseOrder(_ clause: String) throws(RunlogError) -> (Field, Bool) {
        let tokens = try FilterLexer.tokens(clause)
        func fail(_ token: FilterToken, _ message: String) -> RunlogError {
            RunlogError(.filterSyntax, "order-by clause \"\(clause)\": \(message)", column: token.column)
        }
        let field = try self.field(tokens[0], fail)
        if case .tag = field {
            throw fail(tokens[0], "experiments order by name, experiment_id, creation_time or last_update_time")
        }
        var ascending = true
        var i = 1
        if case .word(let word) = tokens[i].kind, ["ASC", "DESC"].contains(word.uppercased()) {
            ascending = word.uppercased() == "ASC"
            i += 1
        }
        guard tokens[i].kind == .end else { throw fail(tokens[i], "unexpected \(tokens[i].text)") }
        return (field, ascending)
    }

    private static func field(_ token: FilterToken, _ fail: (FilterToken, String) -> RunlogError) throws(RunlogError)
        -> Field
    {
        let word: String
        switch token.kind {
        case .word(let text): word = text
        default: throw fail(token, "expected name, creation_time, last_update_time or tags.<key>, found \(token.text)")
        }
        let lowered = word.lowercased()
        for prefix in ["tags.", "tag."] where lowered.hasPrefix(prefix) {
            return .tag(String(word.dropFirst(prefix.count)))
        }
        var attribute = lowered
        for prefix in ["attributes.", "attribute.", "attr."] where lowered.hasPrefix(prefix) {
            attribute = String(lowered.dropFirst(prefix.count))
        }
        switch attribute {
        case "name": return .name
        case "experiment_id": return .experimentID
        case "creation_time": return .creationTime
        case "last_update_time": return .lastUpdateTime
        default:
            throw fail(
                token, "\(word) is not an experiment attribute (name, creation_time, last_update_time, tags.<key>)")
        }
    }
}
