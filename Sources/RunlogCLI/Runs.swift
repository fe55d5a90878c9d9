import ArgumentParser
import Foundation
import Runlog

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List runs with status, duration, params and metric summaries; delete and restore them.",
        usage: """
            runlog runs [--experiment E…] [--filter EXPR] [--order-by CLAUSE…] [--limit N] [--columns K,…] [--all] [--format F]
              runlog runs delete RUN…
              runlog runs restore RUN…
            """,
        discussion: """
            Lists runs, newest first, optionally filtered and ordered. --filter takes MLflow's filter \
            language plus OR, parentheses, IN, NOT and metric aggregates, e.g. \
            "metrics.loss.min < 0.1 and params.optimizer IN ('adam', 'sgd')".
            """,
        subcommands: [Delete.self, Restore.self])

    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @Option(name: .customLong("experiment"), help: "Only runs of this experiment (repeatable).") var experiments:
        [String] = []
    @Option(help: "A filter expression.") var filter: String = ""
    @OptionGroup var query: RunQueryOptions

    func run() throws {
        let store = try self.store.open()
        let ids = experiments.isEmpty ? nil : try experiments.map { try experimentID($0, store) }
        try query.printMatches(filter, experimentIDs: ids, in: store, format: output.format)
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Soft-delete runs (hidden until restored, removed by gc).")
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "Runs: ids, unique prefixes, or EXPERIMENT/RUN_NAME.") var runs: [String]

        func run() throws {
            try forEachRun(runs, store, "deleted") { store, id throws(RunlogError) in try store.deleteRun(id) }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore soft-deleted runs.")
        @OptionGroup var store: StoreOptionsGroup
        @Argument(help: "Runs: ids, unique prefixes, or EXPERIMENT/RUN_NAME.") var runs: [String]

        func run() throws {
            try forEachRun(runs, store, "restored") { store, id throws(RunlogError) in try store.restoreRun(id) }
        }
    }
}

/// Applies `action` to each named run, printing "<verb> <run id>".
private func forEachRun(
    _ references: [String], _ options: StoreOptionsGroup, _ verb: String,
    _ action: (TrackingStore, RunID) throws(RunlogError) -> Void
) throws {
    let store = try options.open()
    for reference in references {
        let id = try resolveRun(reference, in: store)
        try action(store, id)
        print("\(verb) \(id)")
    }
}

/// How `runs` and `search` order, limit and show what matches.
struct RunQueryOptions: ParsableArguments {
    @Option(name: .customLong("order-by"), help: "An order clause such as \"metrics.loss ASC\" (repeatable).")
    var orderBy: [String] = []
    @Option(help: "At most this many runs.") var limit: Int = 1000
    @Option(help: "Columns of the table: comma-separated params and metrics (default: all).") var columns: String?
    @Flag(help: "Include deleted runs.") var all = false
    @OptionGroup var damage: DamageOption

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func printMatches(_ filter: String, experimentIDs: [String]?, in store: TrackingStore, format: OutputFormat) throws
    {
        let page: SearchPage
        do {
            page = try store.search(
                filter, experimentIDs: experimentIDs, orderBy: orderBy,
                maxResults: min(limit, TrackingStore.maxSearchResults),
                includeDeleted: all)
        } catch {
            throw filterUsageError(error, filter)
        }
        let damaged = damage.warn(page.runs, store: store, listing: true)
        printRuns(page.runs, format: format, columns: columns)
        // A person at a terminal is told an empty table is an empty answer; a pipe gets the
        // header alone, as before.
        if page.runs.isEmpty && isatty(STDOUT_FILENO) != 0 {
            FileHandle.standardError.write(
                Data("runlog: no runs match\(filter.isEmpty ? "" : " \"\(TextSafety.forTerminal(filter))\"")\n".utf8))
        }
        try damage.finish(damaged)
    }
}

/// The runs table: id, name, status, duration, then params and metrics' last values. The table is
/// for people (short ids, durations like "1.0m", "-" for a missing value, a param and a metric of
/// one name told apart by their prefixes); CSV is for programs: MLflow's headers (`params.lr`,
/// `metrics.loss`), times in epoch milliseconds, the duration in seconds, empty missing cells.
func printRuns(_ runs: [RunInfo], format: OutputFormat, columns: String?) {
    let wanted = columns.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    let params = Set(runs.flatMap(\.params.keys)).filter { key in
        wanted.map { $0.contains(key) || $0.contains("params." + key) } ?? true
    }.sorted()
    let metrics = Set(runs.flatMap(\.metrics.keys)).filter { key in
        wanted.map { $0.contains(key) || $0.contains("metrics." + key) } ?? true
    }.sorted()
    let shared = Set(params).intersection(metrics)
    var table = DataTable(
        columns: ["run", "name", "status", "duration"] + params.map { shared.contains($0) ? "params." + $0 : $0 }
            + metrics.map { shared.contains($0) ? "metrics." + $0 : $0 })
    table.csvColumns =
        ["run_id", "run_name", "status", "start_time", "end_time", "duration"] + params.map { "params." + $0 }
        + metrics.map { "metrics." + $0 }
    table.paint = { _, column, text in column == 2 ? Style.status(text) : text }
    for run in runs {
        var seconds: String?
        if let start = run.startTime, let end = run.endTime { seconds = exactNumber(Double(end - start) / 1000) }
        table.append(
            [
                format == .table ? String(run.id.description.prefix(12)) : run.id.description, run.name,
                run.status.description, formatDuration(run.startTime, run.endTime),
            ]
                + params.map { run.params[$0] ?? "-" }
                + metrics.map { run.metrics[$0].map { formatNumber($0.last.value) } ?? "-" },
            csv: [
                run.id.description, run.name, run.status.description, run.startTime.map(String.init) ?? "",
                run.endTime.map(String.init) ?? "", seconds ?? "",
            ]
                + params.map { run.params[$0] ?? "" }
                + metrics.map { run.metrics[$0].map { exactNumber($0.last.value) } ?? "" })
        table.objects.append(runJSON(run))
    }
    table.print(format)
}
