import Synchronization

/// Runs newest first (`RunOrder`), as the catalog lists them after a change, with the columns
/// filters have read from them so far: a search evaluates each comparison over a column of
/// values, not by looking into every run's dictionaries, and copies only the runs it returns.
final class RunListing: Sendable {
    /// Columns read so far: one filter column's value in each run, by position, nil where a run
    /// has none. Two dictionaries rather than one of an enum of the two arrays: that enum keeps
    /// its case in the array pointer's spare bits, which LeakSanitizer cannot follow, and it
    /// reported every cached column as leaked.
    private struct Columns {
        var numbers: [FilterColumn: [Double?]] = [:]
        var strings: [FilterColumn: [String?]] = [:]
        var count: Int { numbers.count + strings.count }
    }

    let runs: [RunInfo]
    private let columns = Mutex(Columns())
    /// Columns kept at most (a client naming ever new keys cannot grow the cache without bound).
    static let maxColumns = 256

    init(_ runs: [RunInfo]) {
        self.runs = runs
    }

    func numbers(_ column: FilterColumn) -> [Double?] {
        cached(\.numbers, column) { column.number(in: $0) }
    }

    func strings(_ column: FilterColumn) -> [String?] {
        cached(\.strings, column) { column.string(in: $0) }
    }

    private func cached<T: Sendable>(
        _ kind: WritableKeyPath<Columns, [FilterColumn: [T?]]> & Sendable, _ column: FilterColumn,
        _ value: (RunInfo) -> T?
    ) -> [T?] {
        if let cached = columns.withLock({ $0[keyPath: kind][column] }) { return cached }
        let built = runs.map(value)
        columns.withLock { cache in
            if cache.count >= Self.maxColumns { cache = Columns() }
            cache[keyPath: kind][column] = built
        }
        return built
    }

    /// Whether each run matches `expression`, by position: what `expression.matches(run)` says.
    func mask(_ expression: FilterExpression) -> [Bool] {
        switch expression {
        case .comparison(let comparison):
            if comparison.column.isNumeric {
                return numbers(comparison.column).map { $0.map { comparison.op.holds($0, comparison.value) } ?? false }
            }
            return strings(comparison.column).map {
                $0.map { comparison.op.holds($0, comparison.value, pattern: comparison.pattern) } ?? false
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
