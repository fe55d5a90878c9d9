import Foundation
import Runlog

/// What a chart's x-axis measures.
public enum XAxis: String, Sendable, CaseIterable {
    case step
    /// Wall-clock time (UTC).
    case time
    /// Time since the run's start.
    case relative

    var label: String {
        switch self {
        case .step: "step"
        case .time: "time (UTC)"
        case .relative: "time since start"
        }
    }
}

/// One run's curve on a chart: the buckets of its metric, each bucket's min…max drawn as a band and
/// its last value (or its mean) as the line.
struct ChartSeries {
    var run: RunID
    var label: String
    var color: String
    var buckets: [Bucket]
    /// Subtracted from timestamps on the relative axis: the run's start.
    var origin: Int64 = 0
}

/// How a chart is drawn; each is a URL parameter of the page.
struct ChartOptions: Equatable {
    var width = 560
    var height = 220
    var axis = XAxis.step
    var logarithmic = false
    /// EMA weight in 0..<1 (TensorBoard's smoothing slider); 0 is none.
    var smoothing = 0.0
    /// The line follows each bucket's mean instead of its last point.
    var mean = false
    /// The visible x range (steps, or ms of wall or relative time), nil for everything.
    var range: ClosedRange<Int64>?

    static let margin = (left: 60, right: 14, top: 12, bottom: 30)
    var plotWidth: Int { Swift.max(40, width - Self.margin.left - Self.margin.right) }
    var plotHeight: Int { Swift.max(40, height - Self.margin.top - Self.margin.bottom) }
    /// Pixels of plot per bucket: 2, finer than any screen shows; 4 when more than 10 runs share
    /// the chart (the band still keeps every extreme, at half the bytes).
    var pixelsPerBucket = 2
    var buckets: Int { Swift.max(8, plotWidth / pixelsPerBucket) }

    mutating func share(with runs: Int) { pixelsPerBucket = runs > 10 ? 4 : 2 }
}

/// Renders charts as SVG from buckets. The markup carries what the page script needs for hover
/// and zoom (`data-` attributes of the plot's scales); without the script it is a complete chart.
enum Chart {
    /// Ten distinguishable colours (Tableau 10), by a run's place on the page.
    static let palette = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ]

    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// The x position of a point on `axis`.
    static func position(_ point: MetricPoint, _ axis: XAxis, origin: Int64) -> Int64 {
        switch axis {
        case .step: point.step
        case .time: point.timestamp
        case .relative: point.timestamp.clampedMinus(origin)
        }
    }

    static func svg(title: String, series: [ChartSeries], options: ChartOptions, dataURL: String? = nil) -> String {
        let layout = Layout(series: series, options: options)
        var svg = HTML(capacity: 8192 + series.count * options.buckets * 24)
        let width = String(options.width), height = String(options.height)
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(width) \(height)\" "
                + "width=\"\(width)\" height=\"\(height)\" role=\"img\"")
        svg.raw(" aria-label=\"")
        svg.text(title)
        svg.raw(
            "\" data-axis=\"\(options.axis.rawValue)\" data-x0=\"\(layout.xSpan.low)\" data-x1=\"\(layout.xSpan.high)\""
        )
        svg.raw(
            " data-px0=\"\(ChartOptions.margin.left)\" data-px1=\"\(ChartOptions.margin.left + options.plotWidth)\"")
        if let dataURL {
            svg.raw(" data-src=\"")
            svg.text(dataURL)
            svg.raw("\"")
        }
        svg.raw(">")
        svg.element("title", text: title)
        guard layout.hasData else {
            svg.raw(
                "<text class=\"empty\" x=\"\(options.width / 2)\" y=\"\(options.height / 2)\" text-anchor=\"middle\">"
                    + "no points in this range</text></svg>")
            return svg.output
        }
        grid(&svg, layout)
        for item in series { draw(item, &svg, layout) }
        let left = ChartOptions.margin.left, top = ChartOptions.margin.top
        svg.raw(
            "<rect class=\"plot\" x=\"\(left)\" y=\"\(top)\" width=\"\(options.plotWidth)\" "
                + "height=\"\(options.plotHeight)\" fill=\"none\"/>")
        svg.raw("<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"\(top)\" y2=\"\(top + options.plotHeight)\"/>")
        svg.raw("</svg>")
        return svg.output
    }

    // MARK: Drawing

    private static func grid(_ svg: inout HTML, _ layout: Layout) {
        let o = layout.options
        let left = ChartOptions.margin.left, top = ChartOptions.margin.top
        let bottom = top + o.plotHeight, right = left + o.plotWidth
        svg.raw("<g class=\"grid\">")
        for tick in layout.yTicks {
            let y = format(layout.y(tick))
            svg.raw("<line x1=\"\(left)\" x2=\"\(right)\" y1=\"\(y)\" y2=\"\(y)\"/>")
            svg.svgText(Ticks.label(tick), class: "ylabel", x: left - 6, y: y, anchor: "end", middle: true)
        }
        for tick in layout.xTicks {
            let x = format(layout.x(tick))
            svg.raw("<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(top)\" y2=\"\(bottom)\"/>")
            svg.svgText(
                Ticks.xLabel(tick, o.axis, span: layout.xSpan.high.clampedMinus(layout.xSpan.low)), class: "xlabel",
                x: x,
                y: bottom + 16, anchor: "middle")
        }
        svg.svgText(
            o.axis.label + (o.logarithmic ? " · log y" : ""), class: "axis", x: right, y: bottom + 28, anchor: "end")
        svg.raw("</g>")
    }

    private static func draw(_ series: ChartSeries, _ svg: inout HTML, _ layout: Layout) {
        let o = layout.options
        svg.raw("<g class=\"series\" data-run=\"\(series.run)\" data-label=\"")
        svg.text(series.label)
        svg.raw("\">")
        var band = Path(), line = Path(), smooth = Path()
        var upper: [(Double, Double)] = [], lower: [(Double, Double)] = []
        var markers = HTML()
        var average: Double?
        var weight = 0.0
        func closeBand() {
            guard !upper.isEmpty else { return }
            band.polygon(upper + lower.reversed())
            upper.removeAll(keepingCapacity: true)
            lower.removeAll(keepingCapacity: true)
        }
        for bucket in series.buckets {
            let lastX = Double(position(bucket.last, o.axis, origin: series.origin))
            let firstX = Double(position(bucket.first, o.axis, origin: series.origin))
            guard layout.xSpan.contains(lastX) || layout.xSpan.contains(firstX) else { continue }
            let px = layout.x(Swift.min(Swift.max((firstX + lastX) / 2, layout.xSpan.lowD), layout.xSpan.highD))
            let value = o.mean ? bucket.mean : bucket.last.value
            // Non-finite values are markers at the plot's edge, never part of the scale.
            if bucket.max == .infinity || value == .infinity {
                markers.raw(
                    "<path class=\"marker inf\" d=\"M\(format(px - 4)) \(layout.top + 7)h8l-4 -7z\"><title>+Inf</title></path>"
                )
            }
            if bucket.min == -.infinity || value == -.infinity {
                markers.raw(
                    "<path class=\"marker inf\" d=\"M\(format(px - 4)) \(layout.bottom - 7)h8l-4 7z\"><title>-Inf</title></path>"
                )
            }
            if value.isNaN || bucket.first.value.isNaN {
                markers.raw(
                    "<text class=\"marker nan\" x=\"\(format(px))\" y=\"\(layout.bottom - 3)\" text-anchor=\"middle\">×<title>NaN</title></text>"
                )
            }
            let low = layout.visible(bucket.min), high = layout.visible(bucket.max)
            if let low, let high, bucket.count > 1, high != low {
                upper.append((px, layout.y(high)))
                lower.append((px, layout.y(low)))
            } else {
                closeBand()
            }
            guard let shown = layout.visible(value) else {
                line.lift()
                smooth.lift()
                continue
            }
            line.add(px, layout.y(shown))
            if o.smoothing > 0 {
                // Debiased EMA, as TensorBoard draws it.
                average = (average ?? 0) * o.smoothing + (1 - o.smoothing) * shown
                weight = weight * o.smoothing + (1 - o.smoothing)
                smooth.add(px, layout.y(average! / weight))
            }
        }
        closeBand()
        let color = series.color
        if !band.isEmpty { svg.raw("<path class=\"band\" fill=\"\(color)\" stroke=\"\(color)\" d=\"\(band.text)\"/>") }
        if o.smoothing > 0 {
            svg.raw("<path class=\"line raw\" stroke=\"\(color)\" d=\"\(line.text)\"/>")
            svg.raw("<path class=\"line\" stroke=\"\(color)\" d=\"\(smooth.text)\"/>")
        } else {
            svg.raw("<path class=\"line\" stroke=\"\(color)\" d=\"\(line.text)\"/>")
        }
        svg.raw(markers.output)
        svg.raw("</g>")
    }

    /// A pixel coordinate to one decimal. Total: what is not finite is 0, and what lies far outside
    /// any plot is held at ±1e9 (extreme data must never trap the renderer).
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (Swift.min(Swift.max(value, -1e9), 1e9) * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// The scales of one chart: data to pixels.
    struct Layout {
        let options: ChartOptions
        let xSpan: Span
        let hasData: Bool
        var top: Int { ChartOptions.margin.top }
        var bottom: Int { ChartOptions.margin.top + options.plotHeight }

        struct Span {
            var low: Int64
            var high: Int64
            var lowD: Double { Double(low) }
            var highD: Double { Double(high) }
            func contains(_ value: Double) -> Bool { value >= lowD && value <= highD }
        }

        init(series: [ChartSeries], options: ChartOptions) {
            self.options = options
            var xLow = Int64.max, xHigh = Int64.min
            var yLow = Double.infinity, yHigh = -Double.infinity
            func see(_ value: Double) {
                guard value.isFinite, !options.logarithmic || value > 0 else { return }
                yLow = Swift.min(yLow, value)
                yHigh = Swift.max(yHigh, value)
            }
            for item in series {
                for bucket in item.buckets {
                    let first = position(bucket.first, options.axis, origin: item.origin)
                    let last = position(bucket.last, options.axis, origin: item.origin)
                    if let range = options.range, last < range.lowerBound || first > range.upperBound { continue }
                    xLow = Swift.min(xLow, first)
                    xHigh = Swift.max(xHigh, last)
                    see(bucket.min)
                    see(bucket.max)
                    see(bucket.first.value)
                    see(bucket.last.value)
                    if options.mean { see(bucket.mean) }
                }
            }
            if let range = options.range {
                xLow = range.lowerBound
                xHigh = range.upperBound
            }
            hasData = xLow <= xHigh && yLow <= yHigh
            if !hasData {
                xSpan = Span(low: 0, high: 1)
                yRange = 0...1
                return
            }
            if xLow == xHigh {
                if xHigh == Int64.max { xLow -= 1 } else { xHigh += 1 }
            }
            xSpan = Span(low: xLow, high: xHigh)
            var lowY = options.logarithmic ? log10(yLow) : yLow
            var highY = options.logarithmic ? log10(yHigh) : yHigh
            if lowY == highY {
                lowY -= Swift.max(1e-9, abs(lowY) * 0.05 + (options.logarithmic ? 0.5 : 0))
                highY += Swift.max(1e-9, abs(highY) * 0.05 + (options.logarithmic ? 0.5 : 0))
            } else {
                // Halves first: the span of ±1.8e308 is not a finite double.
                let pad = (highY * 0.5 - lowY * 0.5) * 0.08
                lowY -= pad
                highY += pad
            }
            let most = Double.greatestFiniteMagnitude
            yRange = Swift.max(-most, lowY)...Swift.min(most, highY)
        }

        /// The y range in scale units (log10 on a log axis).
        private var yRange: ClosedRange<Double>

        /// `value` in scale units, or nil when it cannot be drawn (non-finite; ≤ 0 on a log axis).
        func visible(_ value: Double) -> Double? {
            guard value.isFinite else { return nil }
            if options.logarithmic { return value > 0 ? value : nil }
            return value
        }

        func x(_ value: Double) -> Double {
            let span = xSpan.highD - xSpan.lowD  // ≥ 0; 0 where two neighbouring Int64s meet as one double
            let fraction = span > 0 ? (value - xSpan.lowD) / span : 0.5
            return Double(ChartOptions.margin.left) + fraction * Double(options.plotWidth)
        }

        func x(_ value: Int64) -> Double { x(Double(value)) }

        func y(_ value: Double) -> Double {
            let scaled = options.logarithmic ? log10(value) : value
            // Halves first, so that a range of ±1.8e308 has a finite span.
            let span = yRange.upperBound * 0.5 - yRange.lowerBound * 0.5
            let fraction = span > 0 ? (scaled * 0.5 - yRange.lowerBound * 0.5) / span : 0.5
            return Double(bottom) - fraction * Double(options.plotHeight)
        }

        var yTicks: [Double] {
            if options.logarithmic {
                let low = Int(yRange.lowerBound.rounded(.up)), high = Int(yRange.upperBound.rounded(.down))
                guard low <= high else { return [pow(10, (yRange.lowerBound + yRange.upperBound) / 2)] }
                let stride = Swift.max(1, (high - low + 1) / 5)
                return Swift.stride(from: low, through: high, by: stride).map { pow(10, Double($0)) }
            }
            return Ticks.nice(yRange.lowerBound, yRange.upperBound, count: Swift.max(2, options.plotHeight / 45))
        }

        var xTicks: [Int64] {
            Ticks.nice(xSpan.lowD, xSpan.highD, count: Swift.max(2, options.plotWidth / 110))
                .map { Int64(clamping: $0.rounded()) }.filter { $0 >= xSpan.low && $0 <= xSpan.high }
        }
    }

    /// An SVG path's `d`, built point by point.
    struct Path {
        private(set) var text = ""
        private var pen = false
        var isEmpty: Bool { text.isEmpty }

        mutating func add(_ x: Double, _ y: Double) {
            text += (pen ? "L" : (text.isEmpty ? "M" : " M")) + format(x) + " " + format(y)
            pen = true
        }

        /// The next point starts a new piece (a gap where values cannot be drawn).
        mutating func lift() { pen = false }

        mutating func polygon(_ points: [(Double, Double)]) {
            guard let first = points.first else { return }
            text += (text.isEmpty ? "M" : " M") + format(first.0) + " " + format(first.1)
            for point in points.dropFirst() { text += "L" + format(point.0) + " " + format(point.1) }
            text += "Z"
        }
    }
}

/// Axis ticks at 1, 2 and 5 times a power of ten, and their labels.
enum Ticks {
    static func nice(_ low: Double, _ high: Double, count: Int) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return low.isFinite ? [low] : [] }
        let raw = high / Double(Swift.max(1, count)) - low / Double(Swift.max(1, count))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        // `tick - tolerance <= high`, not `tick <= high + tolerance`: near the largest double the sum is inf.
        while tick.isFinite, tick - step * 1e-9 <= high, ticks.count < 50 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    /// A y value in at most 4 significant digits: 0.25, 1.2e-05, 3.4k.
    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        let size = abs(value)
        if size >= 1e4 && size < 1e15 { return compact(value) }
        if size < 1e-3 || size >= 1e15 { return Format.printf("%.2g", value) }
        return Format.printf("%.4g", value)
    }

    static func compact(_ value: Double) -> String {
        let size = abs(value)
        for (limit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where size >= limit {
            return Format.printf("%.3g", value / limit) + suffix
        }
        return Format.printf("%.4g", value)
    }

    static func xLabel(_ value: Int64, _ axis: XAxis, span: Int64) -> String {
        switch axis {
        case .step: return value.magnitude >= 10_000 ? compact(Double(value)) : String(value)
        case .time:
            let date = Date(timeIntervalSince1970: Double(value) / 1000)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let c = calendar.dateComponents([.month, .day, .hour, .minute, .second], from: date)
            let (month, day, hour, minute, second) = (
                c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0
            )
            if span > 2 * 86_400_000 {
                return String(format: "%02d-%02d %02d:%02d", month, day, hour, minute)
            }
            if span > 600_000 { return String(format: "%02d:%02d", hour, minute) }
            return String(format: "%02d:%02d:%02d", hour, minute, second)
        case .relative: return duration(value)
        }
    }

    /// Milliseconds as 850ms, 12s, 3m20s, 2h05m.
    static func duration(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let ms = milliseconds.magnitude  // abs(Int64.min) would trap
        if ms < 1000 { return sign + "\(ms)ms" }
        let seconds = ms / 1000
        if seconds < 60 { return sign + "\(seconds)s" }
        if seconds < 3600 {
            return sign + "\(seconds / 60)m" + (seconds % 60 == 0 ? "" : String(format: "%02ds", seconds % 60))
        }
        return sign + "\(seconds / 3600)h" + String(format: "%02dm", (seconds % 3600) / 60)
    }
}

extension Int64 {
    /// `self - other`, held at the ends of Int64 instead of trapping.
    func clampedMinus(_ other: Int64) -> Int64 {
        let (result, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : result
    }

    /// `self + other`, held at the ends of Int64 instead of trapping.
    func clampedPlus(_ other: Int64) -> Int64 {
        let (result, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : result
    }

    /// A double as the nearest Int64 (NaN as 0), never trapping.
    init(clamping value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807 {
            self = .max
        } else if value <= -9_223_372_036_854_775_808 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}
