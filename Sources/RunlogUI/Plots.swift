import Foundation
import Runlog

/// The compare page's other two charts, as SVG: parallel coordinates (params → a metric) and a
/// scatter of one column against another. A run without a value on an axis is left off it.
enum Plots {
    /// One axis: numeric when every present value is a finite number, else categorical (its
    /// distinct values in order).
    struct Axis {
        let title: String
        let values: [String?]
        let numbers: [Double?]
        let categories: [String]?
        let range: ClosedRange<Double>

        init(title: String, values: [String?]) {
            self.title = title
            self.values = values
            let parsed = values.map { $0.flatMap(Double.init).flatMap { $0.isFinite ? $0 : nil } }
            let numeric = zip(values, parsed).allSatisfy { $0.0 == nil || $0.1 != nil }
            if numeric {
                numbers = parsed
                categories = nil
                let present = parsed.compactMap { $0 }
                let low = present.min() ?? 0, high = present.max() ?? 1
                range = low == high ? (low - 1)...(high + 1) : low...high
            } else {
                let distinct = Array(Set(values.compactMap { $0 })).sorted()
                categories = distinct
                numbers = values.map { value in value.flatMap { distinct.firstIndex(of: $0) }.map(Double.init) }
                range = distinct.count > 1 ? 0...Double(distinct.count - 1) : -1...1
            }
        }

        /// 0 at the bottom of the axis, 1 at its top.
        func fraction(_ index: Int) -> Double? {
            numbers[index].map { ($0 - range.lowerBound) / (range.upperBound - range.lowerBound) }
        }

        func tickLabels() -> [(Double, String)] {
            if let categories {
                let shown =
                    categories.count <= 8
                    ? Array(categories.indices)
                    : stride(from: 0, to: categories.count, by: Swift.max(1, categories.count / 6)).map { $0 }
                return shown.map {
                    ((Double($0) - range.lowerBound) / (range.upperBound - range.lowerBound), categories[$0])
                }
            }
            return [(0, Ticks.label(range.lowerBound)), (1, Ticks.label(range.upperBound))]
        }
    }

    static func parallel(axes: [Axis], runs: [RunInfo], colors: [String], width: Int = 1000, height: Int = 300)
        -> String
    {
        var svg = HTML()
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart parallel\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"parallel coordinates\">"
        )
        guard axes.count >= 2 else {
            svg.raw(
                "<text class=\"empty\" x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">needs two axes</text></svg>"
            )
            return svg.output
        }
        let top = 28.0, bottom = Double(height) - 36, left = 70.0, right = Double(width) - 70
        func x(_ axis: Int) -> Double { left + (right - left) * Double(axis) / Double(axes.count - 1) }
        func y(_ fraction: Double) -> Double { bottom - fraction * (bottom - top) }
        for (index, run) in runs.enumerated() {
            var path = Chart.Path()
            for (a, axis) in axes.enumerated() {
                if let fraction = axis.fraction(index) { path.add(x(a), y(fraction)) } else { path.lift() }
            }
            svg.raw(
                "<g class=\"series\" data-run=\"\(run.id)\"><path class=\"line\" stroke=\"\(colors[index])\" d=\"\(path.text)\"><title>"
            )
            svg.text(run.name)
            svg.raw("</title></path></g>")
        }
        for (a, axis) in axes.enumerated() {
            let ax = Chart.format(x(a))
            svg.raw("<g class=\"grid\"><line x1=\"\(ax)\" x2=\"\(ax)\" y1=\"\(top)\" y2=\"\(bottom)\"/>")
            svg.svgText(axis.title, class: "axis-title", x: ax, y: top - 10, anchor: "middle")
            for (fraction, label) in axis.tickLabels() {
                svg.svgText(
                    String(label.prefix(18)), class: "ylabel", x: Chart.format(x(a) + 5), y: Chart.format(y(fraction)),
                    middle: true)
            }
            svg.raw("</g>")
        }
        svg.raw("</svg>")
        return svg.output
    }

    static func scatter(x: Axis, y: Axis, runs: [RunInfo], colors: [String], width: Int = 480, height: Int = 320)
        -> String
    {
        var svg = HTML()
        svg.raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart scatter\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"scatter\">"
        )
        let left = 60.0, right = Double(width) - 16, top = 14.0, bottom = Double(height) - 40
        func px(_ f: Double) -> Double { left + 0.04 * (right - left) + f * 0.92 * (right - left) }
        func py(_ f: Double) -> Double { bottom - 0.04 * (bottom - top) - f * 0.92 * (bottom - top) }
        svg.raw(
            "<g class=\"grid\"><rect class=\"plot\" x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\"/>"
        )
        for (fraction, label) in x.tickLabels() {
            svg.svgText(
                String(label.prefix(14)), class: "xlabel", x: Chart.format(px(fraction)), y: bottom + 16,
                anchor: "middle")
        }
        for (fraction, label) in y.tickLabels() {
            svg.svgText(
                String(label.prefix(10)), class: "ylabel", x: left - 6, y: Chart.format(py(fraction)), anchor: "end",
                middle: true)
        }
        svg.svgText(x.title + " →", class: "axis", x: right, y: bottom + 32, anchor: "end")
        svg.svgText("↑ " + y.title, class: "axis", x: left, y: top - 2, anchor: "start")
        svg.raw("</g>")
        for (index, run) in runs.enumerated() {
            guard let fx = x.fraction(index), let fy = y.fraction(index) else { continue }
            svg.raw(
                "<g class=\"series\" data-run=\"\(run.id)\"><circle cx=\"\(Chart.format(px(fx)))\" cy=\"\(Chart.format(py(fy)))\" r=\"5\" fill=\"\(colors[index])\"><title>"
            )
            svg.text("\(run.name): \(x.values[index] ?? "") , \(y.values[index] ?? "")")
            svg.raw("</title></circle></g>")
        }
        svg.raw("</svg>")
        return svg.output
    }
}
