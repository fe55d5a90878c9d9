import Foundation
import RunlogReliability
import Testing

@testable import Runlog
@testable import RunlogStore

/// Runs built in memory, to test the filter language without a store.
func fakeRun(
    _ n: Int, status: RunStatus = .finished, name: String = "", start: Int64 = 0, params: [String: String] = [:],
    tags: [String: String] = [:], metrics: [String: [Double]] = [:]
) -> RunInfo {
    var index = RunIndexBuilder()
    index.record(.attribute(key: "run_name", value: name.isEmpty ? "run-\(n)" : name, timestamp: start))
    index.record(.attribute(key: "experiment_id", value: "e\(n % 2)", timestamp: start))
    index.record(.status(.running, timestamp: start))
    for (k, v) in params { index.record(.param(key: k, value: v, timestamp: start)) }
    for (k, v) in tags { index.record(.tag(key: k, value: v, timestamp: start)) }
    if status != .running { index.record(.status(status, timestamp: start + 10)) }
    var info = RunInfo(id: RunID(String(format: "%032x", n))!, index: index.index)
    for (key, values) in metrics {
        var summary: MetricSummary?
        for (step, value) in values.enumerated() {
            let point = MetricPoint(step: Int64(step), timestamp: start + Int64(step), value: value)
            if summary == nil {
                summary = MetricSummary(count: 0, min: .nan, max: .nan, first: point, last: point)
            }
            summary!.count += 1
            if !value.isNaN {
                summary!.min = summary!.min.isNaN ? value : min(summary!.min, value)
                summary!.max = summary!.max.isNaN ? value : max(summary!.max, value)
            }
            summary!.last = point
        }
        info.metrics[key] = summary
    }
    return info
}

/// Builds a `RunIndex` of records through the engine's public path: a store in memory is too
/// much for these tests, so the index is filled record by record.
struct RunIndexBuilder {
    var records: [RunRecord] = []
    mutating func record(_ record: RunRecord) { records.append(record) }
    var index: RunIndex {
        var index = RunIndex()
        index.records = records
        return index
    }
}

/// The runs `filter` matches, by position; run by run and over a listing's columns (what
/// search uses) must agree.
func matching(_ filter: String, _ runs: [RunInfo]) throws -> [Int] {
    let expression = try FilterParser.parse(filter)
    let byRun = runs.enumerated().filter { expression?.matches($0.element) ?? true }.map(\.offset)
    if let expression {
        let byColumn = RunListing(runs).mask(expression).enumerated().filter(\.element).map(\.offset)
        #expect(byColumn == byRun, "\(filter): over columns \(byColumn), run by run \(byRun)")
    }
    return byRun
}

func failure(_ filter: String) -> RunlogError? {
    do {
        _ = try FilterParser.parse(filter)
        return nil
    } catch {
        return error
    }
}

@Suite struct FilterGrammarTests {
    let runs = [
        fakeRun(
            0, name: "alpha", start: 100, params: ["opt": "adam", "lr": "0.1"], tags: ["team": "vision"],
            metrics: ["loss": [0.9, 0.2], "f1 score": [0.5]]),
        fakeRun(
            1, status: .failed, name: "beta", start: 200, params: ["opt": "sgd", "lr": "0.01"], tags: ["team": "Audio"],
            metrics: ["loss": [0.8, 0.4]]),
        fakeRun(
            2, status: .running, name: "gamma_1", start: 300, params: ["opt": "adam"],
            metrics: ["loss": [0.3, 0.35, .nan], "x.min": [7]]),
        fakeRun(
            3, name: "100%_done", start: 400, params: ["opt": "Adam"], tags: ["team": "vision"],
            metrics: ["acc": [0.1, 0.9]]),
    ]

    /// MLflow's forms: bare attribute names, double-quoted keys, and `dataset.` columns (a run
    /// matches when any of its datasets does).
    @Test func mlflowsBareAttributesQuotedKeysAndDatasets() throws {
        #expect(try matching("status = 'FINISHED'", runs) == [0, 3])
        #expect(try matching("run_name LIKE '%a%' AND start_time > 150", runs) == [1, 2])
        #expect(try matching("params.\"opt\" = 'adam' and tags.\"team\" = 'vision'", runs) == [0])
        var withData = runs
        let datasets = [
            #"{"digest":"d1","name":"train","source_type":"code","tags":{"mlflow.data.context":"training"}}"#,
            #"{"digest":"d2","name":"eval set","source_type":"code","tags":{"mlflow.data.context":"eval"}}"#,
        ]
        var index = RunIndexBuilder()
        index.record(.attribute(key: "run_name", value: "with data", timestamp: 1))
        index.record(.input(name: "dataset:train", value: datasets[0], timestamp: 1))
        index.record(.input(name: "dataset:eval set", value: datasets[1], timestamp: 1))
        withData.append(RunInfo(id: RunID(String(format: "%032x", 9))!, index: index.index))
        #expect(try matching("dataset.name = 'eval set'", withData) == [4])
        #expect(try matching("dataset.digest IN ('d1', 'zz') AND dataset.context = 'training'", withData) == [4])
        #expect(try matching("dataset.context LIKE 'ev%'", withData) == [4])
        #expect(try matching("dataset.name = 'nope'", withData) == [])
        #expect(failure("dataset.size = '1'")?.message.contains("dataset fields are name, digest, context") == true)
        #expect(failure("bogus = 'x'") != nil)
        #expect(try FilterParser.parseOrder("run_name").column == .attribute(.runName))
        #expect(try FilterParser.parseOrder("start_time DESC").ascending == false)
    }

    @Test func comparisonsOnEveryKindOfColumn() throws {
        #expect(try matching("metrics.loss < 0.3", runs) == [0])
        #expect(try matching("metrics.loss >= 0.3", runs) == [1])  // run 2's last loss is NaN
        #expect(try matching("params.opt = 'adam'", runs) == [0, 2])
        #expect(try matching("params.opt != 'adam'", runs) == [1, 3])
        #expect(try matching("tags.team = \"vision\"", runs) == [0, 3])
        #expect(try matching("attributes.status = 'FINISHED'", runs) == [0, 3])
        #expect(try matching("attributes.run_name = 'beta'", runs) == [1])
        #expect(try matching("attributes.start_time > 150 and attribute.start_time <= 300", runs) == [1, 2])
        #expect(try matching("run.created >= 400", runs) == [3])
        #expect(try matching("attributes.end_time > 0", runs) == [0, 1, 3])
        #expect(try matching("", runs) == [0, 1, 2, 3])
    }

    @Test func missingKeysNeverMatchButNotNegates() throws {
        #expect(try matching("params.lr != '0.1'", runs) == [1])
        #expect(try matching("NOT params.lr = '0.1'", runs) == [1, 2, 3])
        #expect(try matching("tags.team NOT IN ('vision')", runs) == [1])
    }

    @Test func andBindsTighterThanOrAndParenthesesRegroup() throws {
        // a OR b AND c  ==  a OR (b AND c)
        #expect(try matching("params.opt = 'sgd' or params.opt = 'adam' and tags.team = 'vision'", runs) == [0, 1])
        #expect(try matching("(params.opt = 'sgd' or params.opt = 'adam') and tags.team = 'vision'", runs) == [0])
        #expect(try matching("not (params.opt = 'adam' OR params.opt = 'sgd')", runs) == [3])
        #expect(try matching("NOT NOT params.opt = 'sgd'", runs) == [1])
        #expect(
            try matching("params.opt = 'adam' AND (metrics.loss < 0.5 OR attributes.status = 'RUNNING')", runs) == [
                0, 2,
            ])
    }

    @Test func inAndNotIn() throws {
        #expect(try matching("params.opt IN ('sgd', 'Adam')", runs) == [1, 3])
        #expect(try matching("params.opt not in ('adam')", runs) == [1, 3])
        #expect(try matching("metrics.loss IN (0.2, 0.4)", runs) == [0, 1])
        #expect(try matching("attributes.status IN ('RUNNING','FAILED')", runs) == [1, 2])
    }

    @Test func likeAndIlikeWithEscapes() throws {
        #expect(try matching("attributes.run_name LIKE 'a%'", runs) == [0])
        #expect(
            try matching("attributes.run_name LIKE '%a'", runs) == [0, 1, 2].filter { runs[$0].name.hasSuffix("a") })
        #expect(try matching("attributes.run_name LIKE '_eta'", runs) == [1])
        #expect(try matching("params.opt LIKE 'adam'", runs) == [0, 2])
        #expect(try matching("params.opt ILIKE 'ADAM'", runs) == [0, 2, 3])
        #expect(try matching("tags.team NOT ILIKE 'AUDIO'", runs) == [0, 3])
        // `_` and `%` are wildcards unless escaped.
        #expect(try matching("attributes.run_name LIKE 'gamma_1'", runs) == [2])
        #expect(try matching("attributes.run_name LIKE 'gamma\\_1'", runs) == [2])
        #expect(try matching("attributes.run_name LIKE 'gammaX1'", runs) == [])
        #expect(try matching("attributes.run_name LIKE '100\\%%'", runs) == [3])
        #expect(try matching("attributes.run_name LIKE '1%\\_done'", runs) == [3])
        #expect(try matching("attributes.run_name LIKE '%\\%\\_%'", runs) == [3])
        #expect(!LikePattern.matches("gammaX1", "gamma\\_1", caseInsensitive: false))
        #expect(!LikePattern.matches("100X", "100\\%", caseInsensitive: false))
        #expect(LikePattern.matches("a\\b", "a\\\\b", caseInsensitive: false), "an escaped backslash")
        #expect(LikePattern.matches("abc", "a%c", caseInsensitive: false))
        #expect(LikePattern.matches("ac", "a%c", caseInsensitive: false))
        #expect(!LikePattern.matches("ab", "a%c", caseInsensitive: false))
        #expect(LikePattern.matches("aXbXc", "%b%", caseInsensitive: false))
        #expect(LikePattern.matches("", "%", caseInsensitive: false))
        #expect(!LikePattern.matches("", "_", caseInsensitive: false))
    }

    @Test func quotingOfKeysAndStrings() throws {
        #expect(try matching("metrics.`f1 score` > 0.4", runs) == [0])
        #expect(try matching("metrics.`x.min` = 7", runs) == [2], "a backquoted key is literal, not an aggregate")
        #expect(try matching("metrics.`x.min`.max = 7", runs) == [2])
        #expect(try matching("params.opt = 'it''s'", runs) == [])
        #expect(try matching("params.opt = \"adam\"", runs) == [0, 2])
        #expect(try matching("attributes.run_name = '100%_done'", runs) == [3])
        let escaped = try FilterParser.parse("params.x = 'a\\'b'")
        guard case .comparison(let comparison) = escaped, case .string(let value) = comparison.value else {
            Issue.record("expected one string comparison")
            return
        }
        #expect(value == "a'b")
    }

    @Test func aggregates() throws {
        #expect(try matching("metrics.loss.min < 0.25", runs) == [0])
        #expect(try matching("metrics.loss.max >= 0.8", runs) == [0, 1])
        #expect(try matching("metrics.loss.first = 0.3", runs) == [2])
        #expect(try matching("metrics.loss.last = 0.2", runs) == [0])
        #expect(try matching("metrics.loss.count = 3", runs) == [2])
        #expect(try matching("metrics.acc.count > 1 AND metrics.acc.first < 0.5", runs) == [3])
        #expect(failure("metrics.acc.first < metrics.acc.last")?.code == .filterSyntax, "a column is not a value")
    }

    @Test func syntaxErrorsNameTheColumn() {
        let cases: [(String, Int)] = [
            ("metrics.loss <", 15), ("metrics.loss 0.5", 14), ("metrics.loss < 0.5 and", 23),
            ("(metrics.loss < 0.5", 20), ("metrics.loss < 0.5)", 19), ("params.x = 'open", 12),
            ("loss < 1", 1), ("metrics.loss IN 1", 17), ("metrics.loss IN (1, )", 21),
            ("params.x = 'a' AND OR params.y = 'b'", 20), ("metrics.loss ! 1", 14), ("metrics.loss < 1abc", 16),
            ("metrics.loss < 0.5 params.x = 'a'", 20),
        ]
        for (filter, column) in cases {
            let error = failure(filter)
            #expect(error?.code == .filterSyntax, "\(filter): \(String(describing: error))")
            #expect(error?.column == column, "\(filter): \(String(describing: error))")
            #expect(error?.message.contains("column \(column)") == true)
        }
    }

    // Found by fuzzing: a filter of thousands of '(' overflowed the stack of the recursive parser.
    @Test func nestingAndLengthAreBoundedWithClearErrors() throws {
        let comparison = "metrics.loss < 0.5"
        let deepest = String(repeating: "(", count: 64) + comparison + String(repeating: ")", count: 64)
        let plain = try matching(comparison, runs)
        #expect(!plain.isEmpty)
        #expect(try matching(deepest, runs) == plain)
        #expect(try matching(String(repeating: "NOT ", count: 64) + comparison, runs) == plain)
        for text in [
            String(repeating: "(", count: 65) + comparison + String(repeating: ")", count: 65),
            String(repeating: "NOT ", count: 40) + String(repeating: "(", count: 25) + comparison,
            String(repeating: "(", count: 100_000),
        ] {
            let error = failure(text)
            #expect(error?.code == .filterSyntax)
            #expect(error?.message.contains("nests NOT and parentheses more than 64 deep") == true)
        }
        let many = Array(repeating: comparison, count: 1000).joined(separator: " AND ")
        #expect(try matching(many, runs) == plain)
        let tooMany = failure(many + " OR " + comparison)
        #expect(tooMany?.message.contains("more than 1000 comparisons") == true)
    }

    @Test func typeErrorsAndUnknownColumnsAreClear() {
        let cases: [(String, String)] = [
            ("metrics.loss = 'abc'", "metrics.loss is a number"),
            ("params.lr = 0.01", "params.lr is a string; compare it with a quoted string such as '0.01'"),
            ("params.lr < '0.1'", "'<' does not apply to params.lr"),
            ("metrics.loss LIKE '%'", "LIKE compares strings"),
            ("attributes.colour = 'red'", "unknown attribute \"colour\""),
            ("attributes.status = 'DONE'", "unknown status 'DONE'"),
            ("metric.loss.median > 1", ""),
            ("foo.bar = 'x'", "unknown column kind \"foo\""),
            ("params.`lr`.max = '1'", "aggregates such as .max apply to metrics"),
            ("metrics.loss IN (1, 'a')", "mixes numbers and strings"),
            ("attributes.start_time > 'yesterday'", "attributes.start_time is a time; compare it with epoch"),
            ("attributes.end_time = '2026-02-30'", "not '2026-02-30'"),
            ("attributes.start_time LIKE '2026%'", "LIKE compares strings"),
        ]
        for (filter, text) in cases {
            let error = failure(filter)
            if filter == "metric.loss.median > 1" {
                // "median" is not an aggregate: the key is literally "loss.median".
                #expect(error == nil)
                continue
            }
            #expect(error?.code == .filterType, "\(filter): \(String(describing: error))")
            #expect(error?.message.contains(text) == true, "\(filter): \(String(describing: error))")
            #expect(error?.column != nil)
        }
    }

    @Test func dottedParamKeysAreKeysNotAggregates() throws {
        let run = fakeRun(9, params: ["lr.max": "1"])
        #expect(try matching("params.lr.max = '1'", [run]) == [0])
    }

    @Test func keywordsAreCaseInsensitive() throws {
        #expect(try matching("params.opt = 'adam' AnD tags.team = 'vision' oR params.opt iN ('sgd')", runs) == [0, 1])
    }
}
