import Foundation
import Runlog

/// The pieces pages share: times, numbers, status badges, tables of key–value pairs.
enum Format {
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// 2026-12-02 04:25:06 UTC (C's gmtime: a table of a few thousand times is rendered per page).
    static func exactTime(_ milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000 - (milliseconds % 1000 < 0 ? 1 : 0))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return String(milliseconds) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : String(value) }

    /// `value` through C's printf with `format` (one double): Foundation's `String(format:)` costs
    /// ten times as much, and a runs table formats thousands of numbers.
    static func printf(_ format: String, _ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let count = Int(withVaList([value]) { vsnprintf(buffer.baseAddress, 64, format, $0) })
            return String(
                decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Swift.max(0, Swift.min(count, 63))),
                as: UTF8.self)
        }
    }

    /// "just now", "5 min ago", "3 h ago", "2 d ago", then the date.
    static func relativeTime(_ milliseconds: Int64, now: Int64) -> String {
        let seconds = now.clampedMinus(milliseconds) / 1000
        if seconds < 0 { return "in the future" }
        if seconds < 45 { return "just now" }
        if seconds < 3600 { return "\(Swift.max(1, (seconds + 30) / 60)) min ago" }
        if seconds < 86_400 { return "\(seconds / 3600) h ago" }
        if seconds < 30 * 86_400 { return "\(seconds / 86_400) d ago" }
        return String(exactTime(milliseconds).prefix(10))
    }

    static func duration(_ run: RunInfo, now: Int64) -> String? {
        guard let start = run.startTime else { return nil }
        let end = run.endTime ?? (run.status == .running ? now : run.lastWriteTime ?? start)
        return Ticks.duration(Swift.max(0, end.clampedMinus(start)))
    }

    /// A metric value in at most 6 significant digits; NaN and ±Inf by name.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return Format.printf("%.6g", value)
    }

    static func bytes(_ count: Int64) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }
}

extension HTML {
    mutating func status(_ status: RunStatus) {
        element("span", ["class": "badge \(status.description.lowercased())"], text: status.description)
    }

    /// A time as "5 min ago", with the exact time on hover and in the markup.
    mutating func time(_ milliseconds: Int64?, now: Int64) {
        guard let milliseconds else {
            text("–")
            return
        }
        element(
            "time", ["datetime": String(milliseconds), "title": Format.exactTime(milliseconds)],
            text: Format.relativeTime(milliseconds, now: now))
    }

    /// A two-column table of `pairs`, keys in order; "none" when empty.
    mutating func pairs(_ pairs: [(String, String)], class name: String = "pairs", code: Bool = false) {
        guard !pairs.isEmpty else {
            element("p", ["class": "none"], text: "none")
            return
        }
        element("table", ["class": name]) { table in
            table.element("tbody") { body in
                for (key, value) in pairs {
                    body.element("tr") { row in
                        row.element("th", ["scope": "row"], text: key)
                        row.element("td") { cell in
                            if code { cell.element("code", text: value) } else { cell.text(value) }
                        }
                    }
                }
            }
        }
    }

    /// Hidden fields carrying `request`'s query into a GET form, but for the fields in `except`
    /// (the ones the form itself sets).
    mutating func keep(_ request: UIRequest, except: Set<String>) {
        for key in request.query.keys.sorted() where !except.contains(key) {
            for value in request.query[key]! { void("input", ["type": "hidden", "name": key, "value": value]) }
        }
    }

    /// A link that keeps `request`'s view and changes `changes` (nil removes a parameter).
    mutating func link(
        _ label: String, to path: String, from request: UIRequest, changing changes: [String: String?],
        class name: String? = nil, current: Bool = false
    ) {
        element(
            "a", ["href": View.url(path, request, changes), "class": name, "aria-current": current ? "true" : nil],
            text: label)
    }

    /// The legend of a chart group: one entry per run, each toggling the run's curves (script).
    mutating func legend(_ runs: [(RunInfo, String)]) {
        element("ul", ["class": "legend", "aria-label": "runs"]) { list in
            for (run, color) in runs {
                list.element("li") { item in
                    item.element("button", ["type": "button", "class": "toggle", "data-run": run.id.description]) {
                        button in
                        button.raw(
                            "<svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"\(color)\"/></svg>"
                        )
                        button.text(" " + (run.name.isEmpty ? String(run.id.description.prefix(8)) : run.name))
                    }
                }
            }
        }
    }
}

/// URLs of views: a page's path with its query, one parameter changed.
enum View {
    static func url(_ path: String, _ request: UIRequest, _ changes: [String: String?]) -> String {
        var pairs: [(String, String?)] = []
        for key in request.query.keys.sorted() where changes[key] == nil {
            for value in request.query[key]! { pairs.append((key, value)) }
        }
        for key in changes.keys.sorted() { if let value = changes[key]! { pairs.append((key, value)) } }
        return path + URLText.query(pairs)
    }

    /// The chart options a request asks for: `x`, `log`, `smooth`, `mean`, `from`, `to`, `w`, `h`.
    static func chartOptions(_ request: UIRequest, width: Int, height: Int) throws -> ChartOptions {
        var options = ChartOptions()
        options.width = try request.first("w").map { try integer($0, "w", 120...4000) } ?? width
        options.height = try request.first("h").map { try integer($0, "h", 80...2000) } ?? height
        if let axis = request.first("x") {
            guard let parsed = XAxis(rawValue: axis) else {
                throw UIError(400, "x must be step, time or relative, not \(axis)")
            }
            options.axis = parsed
        }
        options.logarithmic = request.first("log") == "1"
        options.mean = request.first("line") == "mean"
        if let smooth = request.first("smooth") {
            guard let value = Double(smooth), value >= 0, value < 1 else {
                throw UIError(400, "smooth must be a number in 0…0.99, not \(smooth)")
            }
            options.smoothing = value
        }
        let from = try request.first("from").map { try integer64($0, "from") }
        let to = try request.first("to").map { try integer64($0, "to") }
        if from != nil || to != nil {
            let low = from ?? .min, high = to ?? .max
            guard low <= high else { throw UIError(400, "from (\(low)) is after to (\(high))") }
            options.range = low...high
        }
        return options
    }

    static func integer(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw UIError(400, "\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound), not \(text)")
        }
        return value
    }

    static func integer64(_ text: String, _ name: String) throws -> Int64 {
        guard let value = Int64(text) else { throw UIError(400, "\(name) must be a whole number, not \(text)") }
        return value
    }
}
