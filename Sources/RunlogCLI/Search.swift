import ArgumentParser
import Runlog

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search runs of every experiment with a filter expression (as `runs --filter`).",
        discussion: """
            Columns: metrics.KEY, params.KEY, tags.KEY, attributes.status | run_name | run_id | \
            experiment_id | start_time | end_time; comparators = != < <= > >=, LIKE and ILIKE (% and _), \
            IN (…), NOT, AND, OR, parentheses; metric aggregates .min .max .first .last .count; \
            `backquoted keys` for special characters. Example: \
            "metrics.loss.min < 0.1 and (params.optimizer = 'adam' or tags.team ILIKE 'vis%')".
            """)
    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @Argument(help: "The filter expression.") var filter: String
    @Option(name: .customLong("order-by"), help: "An order clause such as \"metrics.loss ASC\" (repeatable).")
    var orderBy: [String] = []
    @Option(help: "At most this many runs.") var limit: Int = 1000
    @Option(help: "Columns of the table: comma-separated params and metrics (default: all).") var columns: String?
    @Flag(help: "Include deleted runs.") var all = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let store = try self.store.open()
        let page: SearchPage
        do {
            page = try store.search(filter, orderBy: orderBy, maxResults: min(limit, 50_000), includeDeleted: all)
        } catch {
            throw filterUsageError(error, filter)
        }
        printRuns(page.runs, format: output.format, columns: columns)
    }
}

/// A filter's syntax or type error is a usage error (exit 2), shown with a caret under its column;
/// other errors pass through.
func filterUsageError(_ error: RunlogError, _ filter: String) -> any Error {
    guard error.code == .filterSyntax || error.code == .filterType else { return error }
    let caret = error.column.map { "\n  \(filter)\n  " + String(repeating: " ", count: max(0, $0 - 1)) + "^" } ?? ""
    return ValidationError(error.message + caret)
}
