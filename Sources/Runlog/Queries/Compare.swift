import RunlogStore

/// One param across compared runs.
public struct ParamComparison: Sendable, Hashable {
    public let key: String
    /// The param's value in each run, in the order the runs were given; nil where a run lacks it.
    public let values: [String?]
    /// Whether the runs disagree (a run lacking the param counts as disagreeing).
    public let differs: Bool
}

/// One metric's summary across compared runs.
public struct MetricComparison: Sendable, Hashable {
    public let key: String
    public let summaries: [MetricSummary?]
}

/// One metric's histories aligned into a table: a row per step (or timestamp) any run logged, a
/// column per run. A cell holds the run's last point at that position in scan order, or nil.
public struct AlignedHistory: Sendable {
    public let key: String
    public let axis: Axis
    public let positions: [Int64]
    /// `values[run][row]`.
    public let values: [[Double?]]
}

public struct Comparison: Sendable {
    public let runs: [RunInfo]
    public let params: [ParamComparison]
    public let metrics: [MetricComparison]
    public let histories: [AlignedHistory]
}

extension TrackingStore {
    /// Runs side by side: every param (differences marked), every metric's summary, and the
    /// histories of `keys` aligned by step or time. A damaged run is refused unless
    /// `allowDamaged` (see `history(of:_:range:allowDamaged:)`).
    public func compare(
        _ runIDs: [RunID], histories keys: [String] = [], axis: Axis = .step, range: ScanRange = .all,
        allowDamaged: Bool = false
    ) throws(RunlogError) -> Comparison {
        guard !runIDs.isEmpty else { throw RunlogError(.invalidArgument, "compare needs at least one run") }
        let entries = try runIDs.map { (id) throws(RunlogError) in try catalog.entry(id) }
        if !allowDamaged { for entry in entries { try Self.refuseDamaged(entry.info) } }
        let runs = entries.map(\.info)
        let paramKeys = Set(runs.flatMap(\.params.keys)).sorted()
        let params = paramKeys.map { key in
            let values = runs.map { $0.params[key] }
            return ParamComparison(key: key, values: values, differs: Set(values).count > 1)
        }
        let metricKeys = Set(runs.flatMap(\.metrics.keys)).sorted()
        let metrics = metricKeys.map { key in MetricComparison(key: key, summaries: runs.map { $0.metrics[key] }) }
        var histories: [AlignedHistory] = []
        for key in keys {
            var columns: [(positions: [Int64], values: [Double])] = []
            for entry in entries {
                guard entry.reader.index.series(key) != nil else {
                    columns.append(([], []))
                    continue
                }
                let points = try storage("scanning \(key) of run \(entry.info.id)") { () throws(StoreError) in
                    try entry.reader.scan(key, range: range)
                }
                columns.append(Alignment.lastPerPosition(points, axis))
            }
            guard columns.contains(where: { !$0.positions.isEmpty }) || runs.contains(where: { $0.metrics[key] != nil })
            else { throw RunlogError(.notFound, "none of the compared runs has metric \"\(key)\"") }
            let positions = Alignment.union(columns.map(\.positions))
            histories.append(
                AlignedHistory(
                    key: key, axis: axis, positions: positions,
                    values: columns.map { Alignment.spread($0.positions, $0.values, over: positions) }))
        }
        return Comparison(runs: runs, params: params, metrics: metrics, histories: histories)
    }
}

enum Alignment {
    /// Sorted unique positions and the value of the last point at each, in scan order.
    static func lastPerPosition(_ points: [MetricPoint], _ axis: Axis) -> (positions: [Int64], values: [Double]) {
        var ordered = points
        if axis == .time {
            // Stable: points of equal timestamp keep scan order.
            ordered = points.enumerated().sorted {
                ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
            }
            .map(\.element)
        }
        var positions: [Int64] = []
        var values: [Double] = []
        positions.reserveCapacity(ordered.count)
        values.reserveCapacity(ordered.count)
        for point in ordered {
            let position = axis == .step ? point.step : point.timestamp
            if positions.last == position {
                values[values.count - 1] = point.value
            } else {
                positions.append(position)
                values.append(point.value)
            }
        }
        return (positions, values)
    }

    /// The sorted union of sorted unique arrays, merged pairwise.
    static func union(_ lists: [[Int64]]) -> [Int64] {
        var result: [Int64] = []
        for list in lists where !list.isEmpty {
            if result.isEmpty || result == list {
                result = result.isEmpty ? list : result
                continue
            }
            var merged: [Int64] = []
            merged.reserveCapacity(result.count + list.count)
            var i = 0
            var j = 0
            while i < result.count || j < list.count {
                if j == list.count || (i < result.count && result[i] < list[j]) {
                    merged.append(result[i])
                    i += 1
                } else if i == result.count || list[j] < result[i] {
                    merged.append(list[j])
                    j += 1
                } else {
                    merged.append(result[i])
                    i += 1
                    j += 1
                }
            }
            result = merged
        }
        return result
    }

    /// `values` at their `positions`, spread over `all` positions (nil where absent).
    static func spread(_ positions: [Int64], _ values: [Double], over all: [Int64]) -> [Double?] {
        var column = [Double?](repeating: nil, count: all.count)
        var i = 0
        for (row, position) in all.enumerated() where i < positions.count && positions[i] == position {
            column[row] = values[i]
            i += 1
        }
        return column
    }
}
