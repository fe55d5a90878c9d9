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

    private init(_ runs: [RunInfo], columns: Columns) {
        self.runs = runs
        self.columns.withLock { $0 = columns }
    }

    /// Where the run of `key` stands in `runs`, if it is there: the listing is sorted by that key.
    func position(of key: RunOrder.Key) -> Int? {
        var (low, high) = (0, runs.count)
        while low < high {
            let middle = (low + high) / 2
            if RunOrder.precedes(RunOrder.key(runs[middle]), key) { low = middle + 1 } else { high = middle }
        }
        return low < runs.count && runs[low].id == key.id ? low : nil
    }

    /// This listing without the runs at `dropped` (positions, ascending) and with `added` (newest
    /// first) merged in where they belong: one pass, no sort, and the cached columns carried over
    /// (a value read only for the runs added) — what a change to a few of 10,000 runs costs.
    func merging(dropping dropped: [Int], adding added: [RunInfo]) -> RunListing {
        var merged: [RunInfo] = []
        merged.reserveCapacity(runs.count - dropped.count + added.count)
        // For each run of the result: its position here (≥ 0), or ~i for added[i].
        var origin: [Int] = []
        origin.reserveCapacity(merged.capacity)
        var (i, j, d) = (0, 0, 0)
        while i < runs.count || j < added.count {
            if d < dropped.count, dropped[d] == i {
                (i, d) = (i + 1, d + 1)
            } else if j < added.count, i == runs.count || RunOrder.newestFirst(added[j], runs[i]) {
                merged.append(added[j])
                origin.append(~j)
                j += 1
            } else {
                merged.append(runs[i])
                origin.append(i)
                i += 1
            }
        }
        var carried = columns.withLock { $0 }
        for (column, values) in carried.numbers {
            carried.numbers[column] = origin.map { $0 >= 0 ? values[$0] : column.number(in: added[~$0]) }
        }
        for (column, values) in carried.strings {
            carried.strings[column] = origin.map { $0 >= 0 ? values[$0] : column.string(in: added[~$0]) }
        }
        return RunListing(merged, columns: carried)
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
            if case .dataset = comparison.column {
                return runs.map { comparison.matches($0) }  // any of a run's datasets: no one column value
            }
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
