import ArgumentParser
import Foundation
import Runlog

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare runs: params with differences marked, metric summaries, histories aligned by step.",
        discussion: """
            --chart draws the runs' histories of each --metric (without one: the first metric all the \
            runs have) overlaid in the terminal, in braille across its width, a colour and a letter \
            per run; --x, --log-y and --smooth shape it. \
            --reproduced compares a run with its rerun and prints REPRODUCED (exit 0) or DIFFERS (exit \
            1): the same params, the same digests of the inputs (datasets, git commit and diff, pip \
            freeze), and every metric at the same steps with values within --rtol / --atol \
            (|rerun - original| <= atol + rtol * |original|; by default the same bits), naming the \
            first differing step of each metric that differs. system/ metrics and times are left out.
            """)
    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @OptionGroup var damage: DamageOption
    @Argument(help: ArgumentHelp("Two or more runs: ids, unique prefixes, or EXPERIMENT/RUN_NAME.", valueName: "run"))
    var runReferences: [String]
    @Option(name: .customLong("metric"), help: "A metric whose histories to align (repeatable).") var metrics:
        [String] = []
    @Flag(help: "Draw the histories as a chart.") var chart = false
    @OptionGroup var chartOptions: ChartOptions
    @Flag(help: "Say whether the second run reproduced the first (exit 1 when it did not).") var reproduced = false
    @Option(help: "With --reproduced: the relative tolerance of a metric's values.") var rtol: Double = 0
    @Option(help: "With --reproduced: the absolute tolerance of a metric's values.") var atol: Double = 0

    func validate() throws {
        guard runReferences.count >= 2 else { throw ValidationError("compare needs at least two runs") }
        if !chart && (chartOptions.x != .step || chartOptions.logY || chartOptions.smooth != 0) {
            throw ValidationError("--x, --log-y and --smooth go with --chart")
        }
        if reproduced && runReferences.count != 2 {
            throw ValidationError("--reproduced compares two runs: the original and its rerun")
        }
        for (name, value) in [("--rtol", rtol), ("--atol", atol)] where !(value >= 0 && value.isFinite) {
            throw ValidationError("\(name) must be a finite number of at least 0, not \(value)")
        }
        if !reproduced && (rtol != 0 || atol != 0) { throw ValidationError("--rtol and --atol go with --reproduced") }
    }

    private func verdict(_ store: TrackingStore, _ ids: [RunID]) throws {
        let result = try store.reproduction(
            of: ids[0], by: ids[1], tolerance: Tolerance(relative: rtol, absolute: atol))
        if output.format != .table {
            var table = DataTable(columns: ["kind", "key", "detail", "step", "original", "rerun"])
            for difference in result.differences {
                table.rows.append([
                    difference.kind.rawValue, difference.key, difference.detail, difference.step.map(String.init) ?? "",
                    difference.original.map(exactNumber) ?? "", difference.rerun.map(exactNumber) ?? "",
                ])
                table.objects.append(
                    .object([
                        ("kind", .string(difference.kind.rawValue)), ("key", .string(difference.key)),
                        ("detail", .string(difference.detail)), ("step", difference.step.map(JSON.integer) ?? .null),
                        ("original", difference.original.map(JSON.value) ?? .null),
                        ("rerun", difference.rerun.map(JSON.value) ?? .null),
                    ]))
            }
            table.print(output.format)
        } else {
            let tolerance = rtol == 0 && atol == 0 ? "bit-exact" : "rtol \(rtol), atol \(atol)"
            print(
                "\(result.reproduced ? "REPRODUCED" : "DIFFERS"): run \(ids[1]) against \(ids[0]): "
                    + "\(result.metricsCompared) metrics, \(result.pointsCompared) points compared (\(tolerance)); "
                    + "\(result.differences.count) differences")
            for difference in result.differences { print("  " + TextSafety.forTerminal(difference.description)) }
        }
        if !result.reproduced { throw ExitCode(1) }
    }

    func run() throws {
        let store = try self.store.open()
        let ids = try runReferences.map { try resolveRun($0, in: store) }
        if reproduced { return try verdict(store, ids) }
        let comparison = try store.compare(ids, histories: chart ? [] : metrics, allowDamaged: true)
        let damaged = damage.warn(comparison.runs, store: store)
        try show(comparison)
        if chart && output.format == .table { try charts(comparison, store) }
        try damage.finish(damaged)
    }

    private func show(_ comparison: Comparison) throws {
        let names = comparison.runs.map { $0.name.isEmpty ? String($0.id.description.prefix(8)) : $0.name }
        if output.format != .table {
            // Data for programs: the aligned histories (or, without --metric, the params).
            var table = DataTable(columns: ["key", "step"] + names)
            for history in comparison.histories {
                for (row, position) in history.positions.enumerated() {
                    let cells = history.values.map { $0[row].map(exactNumber) ?? "" }
                    table.rows.append([history.key, "\(position)"] + cells)
                    table.objects.append(
                        .object(
                            [("key", .string(history.key)), ("step", .integer(position))]
                                + zip(comparison.runs, history.values).map {
                                    ($0.0.id.description, $0.1[row].map(JSON.value) ?? .null)
                                }))
                }
            }
            if comparison.histories.isEmpty {
                table = DataTable(columns: ["param"] + names + ["differs"])
                for param in comparison.params {
                    table.rows.append([param.key] + param.values.map { $0 ?? "" } + [param.differs ? "yes" : "no"])
                    table.objects.append(
                        .object(
                            [("key", .string(param.key)), ("differs", .bool(param.differs))]
                                + zip(comparison.runs, param.values).map {
                                    ($0.0.id.description, $0.1.map(JSON.string) ?? .null)
                                }))
                }
            }
            table.print(output.format)
            return
        }
        var params = DataTable(columns: ["param"] + names)
        for param in comparison.params {
            params.rows.append([(param.differs ? "* " : "  ") + param.key] + param.values.map { $0 ?? "-" })
        }
        params.paint = { row, _, text in comparison.params[row].differs ? Style.highlight(text) : text }
        print("params (* differs)")
        params.print(.table)
        print("\nmetrics (last, min … max)")
        var summaries = DataTable(columns: ["metric"] + names)
        for metric in comparison.metrics {
            summaries.rows.append(
                [metric.key]
                    + metric.summaries.map { s in
                        s.map { "\(formatNumber($0.last.value)) (\(formatNumber($0.min)) … \(formatNumber($0.max)))" }
                            ?? "-"
                    })
        }
        summaries.print(.table)
        for history in comparison.histories {
            print("")
            var table = DataTable(columns: ["step"] + names)
            for (row, position) in history.positions.enumerated() {
                table.rows.append(["\(position)"] + history.values.map { $0[row].map { formatNumber($0) } ?? "-" })
            }
            print(TextSafety.forTerminal(history.key))
            table.print(.table)
        }
    }

    /// A chart of each --metric, or of the first metric every run has (not a system/ one, when
    /// there is another).
    private func charts(_ comparison: Comparison, _ store: TrackingStore) throws {
        var keys = metrics
        if keys.isEmpty {
            let shared = comparison.runs.dropFirst().reduce(Set(comparison.runs[0].metrics.keys)) {
                $0.intersection($1.metrics.keys)
            }.sorted()
            guard let first = shared.first(where: { !$0.hasPrefix("system/") }) ?? shared.first else {
                throw CLIError("the runs share no metric to chart")
            }
            keys = [first]
        }
        let names = comparison.runs.map { $0.name.isEmpty ? String($0.id.description.prefix(8)) : $0.name }
        for key in keys {
            print("")
            print(
                try Chart(
                    store: store, runs: comparison.runs, names: names, key: key, x: chartOptions.x,
                    logY: chartOptions.logY, smooth: chartOptions.smooth
                ).render())
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
