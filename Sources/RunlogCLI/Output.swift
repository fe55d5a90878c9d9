import ArgumentParser
import Foundation
import Runlog

/// How a command prints data.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Aligned columns for people.
    case table
    /// RFC 4180 CSV with a header row.
    case csv
    /// JSON Lines: one object per row, MLflow's REST field names.
    case json
    /// The same JSON Lines, by the name other tools use for them.
    case jsonl

    /// JSON Lines, by either name.
    var isJSON: Bool { self == .json || self == .jsonl }
}

/// A JSON value whose objects keep their key order, so output is stable.
indirect enum JSON {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case null
    case object([(String, JSON)])
    case array([JSON])

    /// Numbers as JSON numbers; NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity",
    /// so that the line stays valid JSON and the value reads back exactly.
    static func value(_ value: Double) -> JSON {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        return .number(value)
    }

    var text: String {
        switch self {
        case .string(let s): return JSON.quote(s)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
        case .integer(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .object(let fields):
            return "{" + fields.map { JSON.quote($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Rows of data, printed as a table, CSV or JSON Lines.
struct DataTable {
    var columns: [String]
    var rows: [[String]] = []
    /// Colours a cell of the table format (after padding, so alignment holds): (row, column, text).
    var paint: ((Int, Int, String) -> String)?
    /// The JSON object of each row (JSON Lines output).
    var objects: [JSON] = []
    /// CSV's header and rows when they differ from the table's: values for programs (numbers of
    /// seconds and epoch milliseconds, empty cells for missing values) where the table has forms
    /// for people.
    var csvColumns: [String]?
    var csvRows: [[String]] = []

    /// Adds a row: `cells` for the table, `csv` (when the table has `csvColumns`) for CSV.
    mutating func append(_ cells: [String], csv: [String]) {
        rows.append(cells)
        csvRows.append(csv)
    }

    func print(_ format: OutputFormat) {
        switch format {
        case .table:
            // Cells are data: a terminal gets their control characters escaped (CSV and JSON keep
            // the exact bytes, quoted by their own rules).
            let columns = columns.map { TextSafety.forTerminal($0) }
            let rows = rows.map { $0.map { TextSafety.forTerminal($0) } }
            var widths = columns.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func line(_ cells: [String], _ row: Int?) -> String {
                cells.enumerated().map { i, cell in
                    let padded =
                        i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                    guard let row, let paint else { return padded }
                    return paint(row, i, padded)
                }
                .joined(separator: "  ")
            }
            Swift.print(line(columns, nil))
            for (index, row) in rows.enumerated() { Swift.print(line(row, index)) }
        case .csv:
            Swift.print((csvColumns ?? columns).map(DataTable.csvField).joined(separator: ","))
            for row in csvColumns == nil ? rows : csvRows {
                Swift.print(row.map(DataTable.csvField).joined(separator: ","))
            }
        case .json, .jsonl:
            for object in objects { Swift.print(object.text) }
        }
    }

    static func csvField(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}

/// Numbers for people: 4 significant digits; NaN and infinities spelled out.
func formatNumber(_ value: Double, digits: Int = 4) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
    return String(format: "%.\(digits)g", value)
}

/// Numbers for programs: the shortest text that reads back to the same Double.
func exactNumber(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
    return "\(value)"
}

func formatTime(_ milliseconds: Int64?) -> String {
    guard let milliseconds else { return "-" }
    let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

func formatDuration(_ start: Int64?, _ end: Int64?) -> String {
    guard let start, let end else { return "-" }
    let seconds = Double(end - start) / 1000
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    if seconds < 3600 { return String(format: "%.1fm", seconds / 60) }
    return String(format: "%.1fh", seconds / 3600)
}

/// A run's JSON object in the shape of MLflow's REST API: its fields, and `params`, `tags` and
/// `metrics` as lists of {"key", "value"…} objects (a metric's latest point, plus its min, max
/// and count, which MLflow's scripts ignore).
func runJSON(_ run: RunInfo) -> JSON {
    .object([
        ("run_id", .string(run.id.description)), ("run_name", .string(run.name)),
        ("experiment_id", .string(run.experimentID)), ("status", .string(run.status.description)),
        ("start_time", run.startTime.map { .integer($0) } ?? .null),
        ("end_time", run.endTime.map { .integer($0) } ?? .null),
        ("lifecycle_stage", .string(run.lifecycle.rawValue)),
        ("params", keyValues(run.params)), ("tags", keyValues(run.tags)),
        (
            "metrics",
            .array(
                run.metrics.keys.sorted().map { key in
                    let s = run.metrics[key]!
                    return .object([
                        ("key", .string(key)), ("value", .value(s.last.value)),
                        ("timestamp", .integer(s.last.timestamp)),
                        ("step", .integer(s.last.step)), ("min", .value(s.min)), ("max", .value(s.max)),
                        ("count", .integer(Int64(s.count))),
                    ])
                })
        ),
    ])
}

/// MLflow's list of {"key", "value"} objects.
func keyValues(_ values: [String: String]) -> JSON {
    .array(values.keys.sorted().map { .object([("key", .string($0)), ("value", .string(values[$0]!))]) })
}

/// A point in time on the command line: milliseconds since the epoch (`1796083200000`), an ISO
/// 8601 date or time (`2026-12-01`, `2026-12-01T08:30`, UTC unless it has an offset), or a
/// duration before now (`90s`, `2h`, `3d`).
struct TimeArgument: ExpressibleByArgument {
    let milliseconds: Int64

    init?(argument: String) {
        if let number = Int64(argument) {
            milliseconds = number
        } else if let time = TimeText.epochMilliseconds(iso: argument) {
            milliseconds = time
        } else if let ago = TimeText.durationMilliseconds(argument) {
            milliseconds = Int64(Date().timeIntervalSince1970 * 1000) - ago
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A span of time on the command line: a whole number and a unit, `ms`, `s`, `m`, `h`, `d` or `w`.
struct DurationArgument: ExpressibleByArgument {
    let milliseconds: Int64

    init?(argument: String) {
        guard let milliseconds = TimeText.durationMilliseconds(argument) else { return nil }
        self.milliseconds = milliseconds
    }
}
