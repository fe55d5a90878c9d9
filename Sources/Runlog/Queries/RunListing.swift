import Synchronization

/// Runs newest first (`RunOrder`), as the catalog lists them after a change, with the columns
/// filters have read from them so far: a search evaluates each comparison over a column of
/// values, not by looking into every run's dictionaries, and copies only the runs it returns.
final class RunListing: Sendable {
    /// One filter column's value in each run, by position; nil where a run has none.
    enum Column: Sendable {
        case numbers([Double?])
        case strings([String?])
    }

    let runs: [RunInfo]
    private let columns = Mutex<[FilterColumn: Column]>([:])
    /// Columns kept at most (a client naming ever new keys cannot grow the cache without bound).
    static let maxColumns = 256

    init(_ runs: [RunInfo]) {
        self.runs = runs
    }

    func column(_ column: FilterColumn) -> Column {
        if let cached = columns.withLock({ $0[column] }) { return cached }
        let built: Column =
            column.isNumeric
            ? .numbers(runs.map { column.number(in: $0) }) : .strings(runs.map { column.string(in: $0) })
        columns.withLock { cache in
            if cache.count >= Self.maxColumns { cache.removeAll() }
            cache[column] = built
        }
        return built
    }

    /// Whether each run matches `expression`, by position: what `expression.matches(run)` says.
    func mask(_ expression: FilterExpression) -> [Bool] {
        switch expression {
        case .comparison(let comparison):
            switch column(comparison.column) {
            case .numbers(let values):
                return values.map { $0.map { comparison.op.holds($0, comparison.value) } ?? false }
            case .strings(let values):
                return values.map {
                    $0.map { comparison.op.holds($0, comparison.value, pattern: comparison.pattern) } ?? false
                }
            }
        case .and(let left, let right):
            var mask = self.mask(left)
            let other = self.mask(right)
            for i in mask.indices { mask[i] = mask[i] && other[i] }
            return mask
        case .or(let left, let right):
            var mask = self.mask(left)
            let other = self.mask(right)
            for i in mask.indices { mask[i] = mask[i] || other[i] }
            return mask
        case .not(let inner):
            return self.mask(inner).map { !$0 }
        }
    }
}
