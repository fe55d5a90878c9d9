import Foundation

/// One page of search results.
public struct SearchPage: Sendable {
    public let runs: [RunInfo]
    /// Pass to the next `search` with the same filter and order for the next page; nil on the last.
    public let nextPageToken: String?
}

extension TrackingStore {
    public static let maxSearchResults = 50_000

    /// Runs matching `filter` (MLflow's grammar, plus `OR`, parentheses, `IN`, `NOT` and metric
    /// aggregates; see `FilterParser`), of the given experiments or of all, ordered by `orderBy`
    /// clauses such as `"metrics.loss ASC"` or `"params.lr DESC"` and then newest first; runs
    /// missing an ordering column come last. At most `maxResults` a page.
    public func search(
        _ filter: String = "", experimentIDs: [String]? = nil, orderBy: [String] = [], maxResults: Int = 1000,
        pageToken: String? = nil, includeDeleted: Bool = false
    ) throws(RunlogError) -> SearchPage {
        try search(
            filter, experimentIDs: experimentIDs, orderBy: orderBy, maxResults: maxResults, pageToken: pageToken,
            viewType: includeDeleted ? .all : .activeOnly)
    }

    /// `search` over active runs, deleted runs or both (MLflow's `run_view_type`).
    public func search(
        _ filter: String = "", experimentIDs: [String]? = nil, orderBy: [String] = [], maxResults: Int = 1000,
        pageToken: String? = nil, viewType: ViewType
    ) throws(RunlogError) -> SearchPage {
        guard (1...TrackingStore.maxSearchResults).contains(maxResults) else {
            throw RunlogError(
                .invalidArgument, "maxResults must be 1…\(TrackingStore.maxSearchResults), not \(maxResults)")
        }
        let expression = try FilterParser.parse(filter)
        let order = try orderBy.map { (clause) throws(RunlogError) in
            do throws(RunlogError) {
                return try FilterParser.parseOrder(clause)
            } catch {
                // Named by its clause: the column is the clause's, not the filter's.
                throw RunlogError(error.code, "order-by clause \"\(clause)\": \(error.message)")
            }
        }
        let fingerprint = PageToken.fingerprint(filter, orderBy, experimentIDs, viewType)
        let offset = try pageToken.map { (token) throws(RunlogError) in try PageToken.offset(token, fingerprint) } ?? 0
        let wanted = experimentIDs.map(Set.init)
        // Newest first already (the catalog keeps that listing), the filter evaluated over its
        // columns: only the runs returned (or, to order them, the matching ones) are copied.
        let listing = catalog.listing(includeDeleted: viewType != .activeOnly)
        let runs = listing.runs
        let mask = expression.map(listing.mask)
        var positions: [Int] = []
        for i in runs.indices where mask?[i] ?? true {
            if let wanted, !wanted.contains(runs[i].experimentID) { continue }
            if viewType.includes(runs[i].lifecycle) { positions.append(i) }
        }
        let page: [RunInfo]
        let total = positions.count
        if order.isEmpty {
            page = positions.dropFirst(offset).prefix(maxResults).map { runs[$0] }
        } else {
            let matching = positions.map { runs[$0] }
            page = SearchOrder(order).sortedIndices(matching).dropFirst(offset).prefix(maxResults).map { matching[$0] }
        }
        let next = offset + page.count < total ? PageToken.make(offset + page.count, fingerprint) : nil
        return SearchPage(runs: page, nextPageToken: next)
    }
}

/// Sorts runs by order-by clauses, then newest first; each run's sort values are read once.
struct SearchOrder {
    enum Value {
        case number(Double)
        case string(String)
        case missing
    }

    let clauses: [(column: FilterColumn, ascending: Bool)]

    init(_ clauses: [(column: FilterColumn, ascending: Bool)]) {
        self.clauses = clauses
    }

    /// The positions of `runs`, which are newest first (`RunOrder`), in order (sorting positions
    /// moves no run); runs equal in every clause keep their newest-first order.
    func sortedIndices(_ runs: [RunInfo]) -> [Int] {
        guard !clauses.isEmpty else { return Array(runs.indices) }
        let keys = runs.map { run in clauses.map { value($0.column, run) } }
        let order = runs.indices.sorted { a, b in
            for (i, clause) in clauses.enumerated() {
                switch compare(keys[a][i], keys[b][i]) {
                case .orderedSame: continue
                case .orderedAscending: return keys[b][i].isMissing || clause.ascending
                case .orderedDescending: return keys[a][i].isMissing ? false : !clause.ascending
                }
            }
            return a < b
        }
        return order
    }

    private func value(_ column: FilterColumn, _ run: RunInfo) -> Value {
        if column.isNumeric { return column.number(in: run).map(Value.number) ?? .missing }
        return column.string(in: run).map(Value.string) ?? .missing
    }

    /// Missing values sort after everything, NaN after every number: in both directions, the
    /// caller keeps missing values last.
    private func compare(_ a: Value, _ b: Value) -> ComparisonResult {
        switch (a, b) {
        case (.missing, .missing): return .orderedSame
        case (.missing, _): return .orderedDescending
        case (_, .missing): return .orderedAscending
        case (.number(let x), .number(let y)):
            if x.isNaN || y.isNaN {
                return x.isNaN == y.isNaN ? .orderedSame : x.isNaN ? .orderedDescending : .orderedAscending
            }
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        case (.string(let x), .string(let y)):
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        default:
            return .orderedSame
        }
    }
}

extension SearchOrder.Value {
    var isMissing: Bool {
        if case .missing = self { return true }
        return false
    }
}

/// A page token: the offset of the next page and a fingerprint of the query it belongs to,
/// base64-encoded. A token from another query is refused rather than silently misapplied.
enum PageToken {
    static func fingerprint(_ filter: String, _ orderBy: [String], _ experiments: [String]?, _ view: ViewType) -> UInt64
    {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let text = ([filter] + orderBy + ["|"] + (experiments?.sorted() ?? ["*"]) + [view.rawValue]).joined(
            separator: "\u{1F}")
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func make(_ offset: Int, _ fingerprint: UInt64) -> String {
        Data("1:\(offset):\(String(fingerprint, radix: 16))".utf8).base64EncodedString()
    }

    static func offset(_ token: String, _ fingerprint: UInt64) throws(RunlogError) -> Int {
        guard let data = Data(base64Encoded: token) else {
            throw RunlogError(.invalidArgument, "page token \"\(token.prefix(40))\" is not valid")
        }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 3, parts[0] == "1", let offset = Int(parts[1]), offset >= 0,
            let print = UInt64(parts[2], radix: 16)
        else { throw RunlogError(.invalidArgument, "page token \"\(token.prefix(40))\" is not valid") }
        guard print == fingerprint else {
            throw RunlogError(
                .invalidArgument, "page token belongs to another search (filter, order or experiments differ)")
        }
        return offset
    }
}
