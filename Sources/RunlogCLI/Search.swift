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
    @OptionGroup var query: RunQueryOptions

    func run() throws {
        try query.printMatches(filter, experimentIDs: nil, in: try store.open(), format: output.format)
    }
}

/// A filter's syntax or type error is a usage error (exit 2), shown with a caret under its column;
/// other errors pass through.
func filterUsageError(_ error: RunlogError, _ filter: String) -> any Error {
    guard error.code == .filterSyntax || error.code == .filterType else { return error }
    let caret = error.column.map { "\n  \(filter)\n  " + String(repeating: " ", count: max(0, $0 - 1)) + "^" } ?? ""
    return ValidationError(error.message + caret)
}
