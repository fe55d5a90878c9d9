import CSQLitePeer
import Runlog

/// The runs of a tracking store in SQLite (in memory, through its C API): runs, params and latest
/// metrics in tables with the indexes MLflow's schema has, for the search figure.
final class SQLitePeer {
    private var db: OpaquePointer?
    private var query: OpaquePointer?

    init(_ runs: [RunInfo]) {
        precondition(sqlite3_open(":memory:", &db) == SQLITE_OK)
        exec(
            """
            CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, status TEXT, start_time INTEGER, lifecycle TEXT);
            CREATE TABLE params (run_id TEXT, key TEXT, value TEXT, PRIMARY KEY (run_id, key));
            CREATE TABLE latest_metrics (run_id TEXT, key TEXT, value REAL, step INTEGER, PRIMARY KEY (run_id, key));
            CREATE INDEX params_key_value ON params (key, value);
            CREATE INDEX metrics_key_value ON latest_metrics (key, value);
            CREATE INDEX runs_start ON runs (start_time);
            BEGIN;
            """)
        let insertRun = prepare("INSERT INTO runs VALUES (?, ?, ?, ?, 'active')")
        let insertParam = prepare("INSERT INTO params VALUES (?, ?, ?)")
        let insertMetric = prepare("INSERT INTO latest_metrics VALUES (?, ?, ?, ?)")
        for run in runs {
            let id = run.id.description
            bind(insertRun, 1, id)
            bind(insertRun, 2, run.name)
            bind(insertRun, 3, "\(run.status)")
            sqlite3_bind_int64(insertRun, 4, run.startTime ?? 0)
            step(insertRun)
            for (key, value) in run.params {
                bind(insertParam, 1, id)
                bind(insertParam, 2, key)
                bind(insertParam, 3, value)
                step(insertParam)
            }
            for (key, summary) in run.metrics {
                bind(insertMetric, 1, id)
                bind(insertMetric, 2, key)
                sqlite3_bind_double(insertMetric, 3, summary.last.value)
                sqlite3_bind_int64(insertMetric, 4, summary.last.step)
                step(insertMetric)
            }
        }
        exec("COMMIT; ANALYZE;")
        for statement in [insertRun, insertParam, insertMetric] { sqlite3_finalize(statement) }
        query = prepare(
            """
            SELECT r.id, r.name, r.status, r.start_time FROM runs r
            JOIN latest_metrics m ON m.run_id = r.id AND m.key = 'loss' AND m.value < 0.5
            JOIN params p ON p.run_id = r.id AND p.key = 'lr' AND p.value = ?
            WHERE r.lifecycle = 'active' ORDER BY r.start_time DESC, r.id LIMIT 1000
            """)
    }

    deinit {
        sqlite3_finalize(query)
        sqlite3_close(db)
    }

    /// `metrics.loss < 0.5 and params.lr = 'LR'`, newest first, at most 1,000: the rows found.
    func lossBelowHalfWithLearningRate(_ lr: String) -> Int {
        bind(query, 1, lr)
        var found = 0
        while sqlite3_step(query) == SQLITE_ROW {
            _ = sqlite3_column_text(query, 0)
            _ = sqlite3_column_text(query, 1)
            found += 1
        }
        sqlite3_reset(query)
        return found
    }

    private func exec(_ sql: String) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &error) == SQLITE_OK else { fatalError(String(cString: error!)) }
    }

    private func prepare(_ sql: String) -> OpaquePointer? {
        var statement: OpaquePointer?
        precondition(sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
        return statement
    }

    private func bind(_ statement: OpaquePointer?, _ index: Int32, _ text: String) {
        sqlite3_bind_text(statement, index, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    private func step(_ statement: OpaquePointer?) {
        precondition(sqlite3_step(statement) == SQLITE_DONE)
        sqlite3_reset(statement)
    }
}
