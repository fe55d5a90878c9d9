import ArgumentParser
import Foundation
import Runlog

/// What a chart's x-axis counts.
enum ChartX: String, ExpressibleByArgument, CaseIterable, Sendable {
    case step
    /// Wall-clock time of each point (local time).
    case time
    /// Time since each run's start.
    case relative
}

/// The options of a terminal chart, shared by the commands that draw one.
struct ChartOptions: ParsableArguments {
    @Option(
        name: .customLong("x"),
        help: "The chart's x-axis: step, time (wall clock) or relative (since each run's start).")
    var x: ChartX = .step
    @Flag(name: .customLong("log-y"), help: "A logarithmic y-axis (values at or below 0 are not drawn).")
    var logY = false
    @Option(help: "Smooth each curve by an exponential moving average of this weight, 0 (none) up to 0.99.")
    var smooth: Double = 0

    func validate() throws {
        guard smooth >= 0 && smooth < 1 else {
            throw ValidationError("--smooth takes a weight from 0 up to (not including) 1, not \(smooth)")
        }
    }
}

/// Curves in the terminal, drawn in Unicode braille (2 × 4 dots a cell) across the terminal's
/// width: each run in its own colour on a colour terminal, with a letter at the right edge beside
/// the row where its curve ends (so runs stay apart without colour too), 4–6 labelled ticks on
/// each axis, and a legend in the same colours and letters. NaN and ±Inf are not drawn and are
/// counted under the chart.
struct Chart {
    struct Series {
        let name: String
        /// (x, y) in drawing order; x is a step, epoch milliseconds or milliseconds since the start.
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var series: [Series]
    var x: ChartX = .step
    var logY = false
    var smooth = 0.0
    /// Columns in all, labels included.
    var width = Chart.terminalWidth()
    var height = 16
    var colour = Style.enabled

    static let palette = ["34", "33", "32", "31", "35", "36", "94", "91"]

    /// The histories of `key` of `runs` as a chart.
    init(
        store: TrackingStore, runs: [RunInfo], names: [String], key: String, x: ChartX = .step, logY: Bool = false,
        smooth: Double = 0
    ) throws {
        title = key
        self.x = x
        self.logY = logY
        self.smooth = smooth
        series = try zip(runs, names).map { run, name in
            let points = try store.history(of: run.id, key, allowDamaged: true)
            // The run's start, or its earliest point when one precedes it (points logged with
            // their own timestamps, as an import or ingest may).
            let start = Double(min(run.startTime ?? .max, points.map(\.timestamp).min() ?? .max))
            return Series(
                name: name,
                points: points.map { point in
                    let position: Double
                    switch x {
                    case .step: position = Double(point.step)
                    case .time: position = Double(point.timestamp)
                    case .relative: position = Double(point.timestamp) - start
                    }
                    return (position, point.value)
                })
        }
    }

    init(title: String, series: [Series]) {
        self.title = title
        self.series = series
    }

    /// The terminal's width (stdout's), else `$COLUMNS`, else 80; kept within 40…240.
    static func terminalWidth() -> Int {
        var size = winsize()
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return min(240, max(40, Int(size.ws_col)))
        }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }), columns > 0 {
            return min(240, max(40, columns))
        }
        return 80
    }

    private func paint(_ text: String, _ index: Int) -> String {
        colour ? "\u{1B}[\(Chart.palette[index % Chart.palette.count])m\(text)\u{1B}[0m" : text
    }

    private static func letter(_ index: Int) -> String {
        String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
    }

    func render() -> String {
        let safeTitle = TextSafety.forTerminal(title)
        // What is drawn: finite values (positive ones on a log scale), smoothed when asked.
        var skipped = (nan: 0, infinite: 0, nonPositive: 0)
        let curves: [[(x: Double, y: Double)]] = series.map { series in
            var kept: [(x: Double, y: Double)] = []
            kept.reserveCapacity(series.points.count)
            for point in series.points {
                if point.y.isNaN {
                    skipped.nan += 1
                } else if point.y.isInfinite {
                    skipped.infinite += 1
                } else if logY && point.y <= 0 {
                    skipped.nonPositive += 1
                } else {
                    kept.append((point.x, logY ? log10(point.y) : point.y))
                }
            }
            guard smooth > 0 else { return kept }
            // Debiased, as TensorBoard smooths: the first points are not pulled towards 0.
            var average = 0.0
            var weight = 1.0
            for index in kept.indices {
                average = smooth * average + (1 - smooth) * kept[index].y
                weight *= smooth
                kept[index].y = average / (1 - weight)
            }
            return kept
        }
        let all = curves.joined()
        guard let xLow0 = all.map(\.x).min(), let xHigh0 = all.map(\.x).max(), var yLow = all.map(\.y).min(),
            var yHigh = all.map(\.y).max()
        else { return "\(safeTitle): no points to draw" + notes(skipped) }
        let xTicks = Chart.ticks(xLow0, xHigh0 == xLow0 ? xLow0 + 1 : xHigh0, integral: x == .step, time: x != .step)
        let xLow = min(xLow0, xTicks.first ?? xLow0)
        let xHigh = max(xHigh0 == xLow0 ? xLow0 + 1 : xHigh0, xTicks.last ?? xHigh0)
        if yHigh == yLow {
            yLow -= max(1, abs(yLow) * 0.1)
            yHigh += max(1, abs(yHigh) * 0.1)
        }
        // Values near the ends of a double's range must not widen the axis to infinity.
        yLow = max(yLow, -.greatestFiniteMagnitude)
        yHigh = min(yHigh, .greatestFiniteMagnitude)
        let yTicks = logY ? Chart.logTicks(yLow, yHigh) : Chart.ticks(yLow, yHigh, integral: false)
        // The axis reaches the outer ticks.
        yLow = min(yLow, yTicks.first ?? yLow)
        yHigh = max(yHigh, yTicks.last ?? yHigh)
        let yLabels = yTicks.map { logY ? formatNumber(pow(10, $0)) : formatNumber($0) }
        let labelWidth = yLabels.map(\.count).max() ?? 1
        let columns = max(20, width - labelWidth - 2 - 2)
        let dotsWide = columns * 2
        let dotsHigh = height * 4
        // Each curve's dots, cell by cell: masks[curve][row * columns + column].
        var masks = Array(repeating: [UInt8](repeating: 0, count: columns * height), count: curves.count)
        var ends: [Int?] = Array(repeating: nil, count: curves.count)
        for (index, curve) in curves.enumerated() {
            var previous: (Int, Int)?
            for point in curve {
                let dx = Chart.place(point.x, from: xLow, to: xHigh, over: dotsWide)
                let dy = Chart.place(point.y, from: yHigh, to: yLow, over: dotsHigh)
                let here = (min(max(dx, 0), dotsWide - 1), min(max(dy, 0), dotsHigh - 1))
                if let previous {
                    Chart.line(from: previous, to: here) { Chart.set(&masks[index], $0, $1, columns) }
                } else {
                    Chart.set(&masks[index], here.0, here.1, columns)
                }
                previous = here
            }
            if let previous { ends[index] = previous.1 / 4 }
        }
        // The letters at the right edge, each beside the row its curve ends on (or the nearest free one).
        var margin = Array(repeating: "  ", count: height)
        var taken = Set<Int>()
        for (index, end) in ends.enumerated() {
            guard let end else { continue }
            let row =
                (0..<height).filter { !taken.contains($0) }.min { abs($0 - end) < abs($1 - end) } ?? end
            taken.insert(row)
            margin[row] = " " + paint(Chart.letter(index), index)
        }
        var tickRows: [Int: String] = [:]
        for (tick, label) in zip(yTicks, yLabels) {
            tickRows[Chart.place(tick, from: yHigh, to: yLow, over: height)] = label
        }
        var lines = [heading(safeTitle)]
        for row in 0..<height {
            var text = (tickRows[row] ?? "").leftPadded(labelWidth) + (tickRows[row] == nil ? " │" : " ┤")
            for column in 0..<columns {
                let cell = row * columns + column
                var union: UInt8 = 0
                var owner = -1
                var most = 0
                for index in masks.indices where masks[index][cell] != 0 {
                    union |= masks[index][cell]
                    let dots = masks[index][cell].nonzeroBitCount
                    if dots >= most {
                        most = dots
                        owner = index
                    }
                }
                let glyph = union == 0 ? " " : String(UnicodeScalar(0x2800 + UInt32(union))!)
                text += owner < 0 ? glyph : paint(glyph, owner)
            }
            lines.append(text + margin[row])
        }
        // The x-axis: a tick mark under each labelled position, the labels centred below.
        var axis = Array(repeating: Character("─"), count: columns)
        var labels = Array(repeating: Character(" "), count: columns + labelWidth + 2)
        var free = 0
        for tick in xTicks {
            let column = Chart.place(tick, from: xLow, to: xHigh, over: columns)
            guard (0..<columns).contains(column) else { continue }
            axis[column] = "┬"
            let label = Array(xLabel(tick, step: xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1))
            let start = min(max(labelWidth + 2 + column - label.count / 2, free), labels.count - label.count)
            guard start >= free else { continue }
            for (offset, character) in label.enumerated() { labels[start + offset] = character }
            free = start + label.count + 1
        }
        lines.append(String(repeating: " ", count: labelWidth) + " └" + String(axis))
        lines.append(String(String(labels).reversed().drop { $0 == " " }.reversed()))
        lines.append(
            "legend: "
                + series.enumerated().map { index, series in
                    paint("\(Chart.letter(index)) ⣿", index) + " " + TextSafety.forTerminal(series.name)
                }.joined(separator: "   "))
        return lines.joined(separator: "\n") + notes(skipped)
    }

    private func heading(_ title: String) -> String {
        let axis =
            switch x {
            case .step: "step"
            case .time: "time"
            case .relative: "time since the run's start"
            }
        var words = ["\(title) by \(axis)"]
        if logY { words.append("log y") }
        if smooth > 0 { words.append("smoothed \(formatNumber(smooth))") }
        return words.joined(separator: ", ")
    }

    private func notes(_ skipped: (nan: Int, infinite: Int, nonPositive: Int)) -> String {
        var parts: [String] = []
        if skipped.nan > 0 { parts.append("\(skipped.nan) NaN") }
        if skipped.infinite > 0 { parts.append("\(skipped.infinite) ±Infinity") }
        if skipped.nonPositive > 0 { parts.append("\(skipped.nonPositive) at or below 0 (log y)") }
        return parts.isEmpty ? "" : "\nnot drawn: " + parts.joined(separator: ", ")
    }

    private func xLabel(_ value: Double, step: Double) -> String {
        switch x {
        case .step:
            // Steps beyond 10^12 (near Int64's ends, say) as numbers with an exponent.
            guard abs(value) < 1e12, let whole = Int64(exactly: value.rounded()) else { return formatNumber(value) }
            return String(whole)
        case .time:
            let date = Date(timeIntervalSince1970: value / 1000)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = step >= 86_400_000 ? "MM-dd" : step >= 60_000 ? "HH:mm" : "HH:mm:ss"
            return formatter.string(from: date)
        case .relative:
            return Chart.duration(value / 1000)
        }
    }

    /// `90` → `1m30s`, `7200` → `2h`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(formatNumber(seconds, digits: 3))s" }
        let whole = Int64(seconds.rounded())
        let (days, hours, minutes, rest) = (whole / 86_400, whole / 3600 % 24, whole / 60 % 60, whole % 60)
        var text = ""
        if days > 0 { text += "\(days)d" }
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 && days == 0 { text += "\(minutes)m" }
        if rest > 0 && days == 0 && hours == 0 { text += "\(rest)s" }
        return text
    }

    /// 4 to 6 round values from a little below `low` to a little above `high` (the axis is
    /// widened to them): multiples of 1, 2, 2.5 or 5 × 10^k — for time, of seconds, minutes, hours
    /// or days — and integers when `integral`.
    static func ticks(_ low: Double, _ high: Double, integral: Bool, time: Bool = false) -> [Double] {
        let span = high - low
        var candidates: [Double] = []
        if time && span >= 5000 {
            candidates =
                [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200]
                .map { $0 * 1000 } + (0..<12).map { 86_400_000 * pow(2, Double($0)) }
        } else {
            let magnitude = pow(10, floor(log10(span / 5)))
            for scale in [0.1, 1, 10, 100] {
                for base in [1, 2, 2.5, 5] {
                    let step = base * magnitude * scale
                    if !integral || (step >= 1 && step.rounded() == step) { candidates.append(step) }
                }
            }
            if candidates.isEmpty { candidates = [1, 2, 5] }
        }
        var best: [Double] = []
        var bestScore = Int.max
        for step in candidates {
            let first = (low / step).rounded(.down)
            let last = (high / step).rounded(.up)
            guard last - first < 40 else { continue }
            let count = Int(last - first) + 1
            let score = (4...6).contains(count) ? abs(count - 5) : 10 + abs(count - 5)
            if score < bestScore {
                bestScore = score
                best = (0..<count).map { (first + Double($0)) * step }
            }
        }
        return best.count >= 2 ? best : [low, high]
    }

    /// Ticks of a log axis, in log10 units, from the decade below the values to the decade above
    /// (the axis is widened to them): decades when there are 4 or more, else 1 and 3 (or 1, 2
    /// and 5) times each decade.
    static func logTicks(_ low: Double, _ high: Double) -> [Double] {
        let first = low.rounded(.down)
        let last = max(high.rounded(.up), first + 1)
        let decades = Int(last - first) + 1
        if decades >= 4 { return ticks(first, last, integral: true) }
        let multiples: [Double] = decades == 3 ? [1, 3] : [1, 2, 5]
        return (Int(first)...Int(last)).flatMap { decade in multiples.map { log10($0) + Double(decade) } }
            .filter { $0 <= last + 1e-9 }
    }

    /// Where `value` falls among `count` positions from `low` to `high`, clamped to them. Halved
    /// first, so that a span wider than the largest double (-1e308 … 1e308) stays finite.
    static func place(_ value: Double, from low: Double, to high: Double, over count: Int) -> Int {
        let fraction = (value / 2 - low / 2) / (high / 2 - low / 2)
        guard fraction.isFinite else { return 0 }
        return min(max(Int((fraction * Double(count - 1)).rounded()), 0), count - 1)
    }

    /// The braille dot of each (column, row) of a cell.
    private static let dots: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    private static func set(_ mask: inout [UInt8], _ x: Int, _ y: Int, _ columns: Int) {
        mask[(y / 4) * columns + x / 2] |= dots[x % 2][y % 4]
    }

    /// The dots from one point to the next (Bresenham).
    private static func line(from: (Int, Int), to: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x, y) = from
        let dx = abs(to.0 - x)
        let dy = -abs(to.1 - y)
        let sx = x < to.0 ? 1 : -1
        let sy = y < to.1 ? 1 : -1
        var error = dx + dy
        while true {
            plot(x, y)
            if x == to.0 && y == to.1 { return }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += sx
            }
            if doubled <= dx {
                error += dx
                y += sy
            }
        }
    }
}
