import Foundation
import Runlog

extension TrackingUI {
    /// The buckets of `key` of `run` for a chart: as many as the plot has pixel pairs, over the
    /// visible range only (a zoom asks for new buckets of what it shows).
    func buckets(_ run: RunID, _ key: String, _ options: ChartOptions, origin: Int64) throws -> [Bucket] {
        switch options.axis {
        case .step:
            return try store.downsample(
                run, key, buckets: options.buckets, range: ScanRange(steps: options.range), axis: .step,
                allowDamaged: true)
        case .time:
            return try store.downsample(
                run, key, buckets: options.buckets, range: ScanRange(timestamps: options.range), axis: .time,
                allowDamaged: true)
        case .relative:
            // Held at the ends of Int64: a wrapped bound would invert the range.
            let range = options.range.map { $0.lowerBound.clampedPlus(origin)...$0.upperBound.clampedPlus(origin) }
            return try store.downsample(
                run, key, buckets: options.buckets, range: ScanRange(timestamps: range), axis: .time, allowDamaged: true
            )
        }
    }

    /// One chart in its figure, with the URL the script reads hover data and zoomed charts from.
    func figure(
        _ html: inout HTML, key: String, series: [ChartSeries], runs: [RunID], options: ChartOptions,
        request: UIRequest
    ) {
        var pairs: [(String, String?)] = runs.map { ("runs", $0.description) }
        pairs.append(("metric", key))
        for name in ["x", "log", "smooth", "line", "from", "to"] { pairs.append((name, request.first(name))) }
        pairs.append(("w", String(options.width)))
        pairs.append(("h", String(options.height)))
        let source = "/chart" + URLText.query(pairs)
        html.element("figure", ["class": "chart-box", "data-live": "chart:" + key, "data-chart": source]) { figure in
            figure.element("figcaption") { caption in
                caption.element("span", ["class": "key"], text: key)
                let points = series.reduce(0) { $0 + $1.buckets.reduce(0) { $0 + $1.count } }
                caption.element("span", ["class": "quiet"], text: "\(points) points")
            }
            figure.raw(Chart.svg(title: key, series: series, options: options, dataURL: source + "&format=json"))
        }
    }

    /// The chart controls: x-axis, log scale, smoothing, line, step (or time) range. A plain GET
    /// form that keeps the page's other parameters; the script submits it on change.
    func chartControls(_ html: inout HTML, _ request: UIRequest, path: String, options: ChartOptions) {
        html.element("form", ["class": "controls", "method": "get", "action": path]) { form in
            form.keep(request, except: ["x", "log", "smooth", "line", "from", "to", "w", "h"])
            form.element("label") { label in
                label.text("x ")
                label.element("select", ["name": "x", "class": "auto"]) { select in
                    for axis in XAxis.allCases {
                        select.element(
                            "option", ["value": axis.rawValue, "selected": options.axis == axis ? "" : nil],
                            text: axis.label)
                    }
                }
            }
            form.element("label") { label in
                label.void(
                    "input",
                    [
                        "type": "checkbox", "name": "log", "value": "1", "class": "auto",
                        "checked": options.logarithmic ? "" : nil,
                    ])
                label.text(" log y")
            }
            form.element("label") { label in
                label.text("smoothing ")
                label.element("select", ["name": "smooth", "class": "auto"]) { select in
                    for value in [0, 0.6, 0.8, 0.9, 0.95, 0.99] {
                        select.element(
                            "option",
                            [
                                "value": value == 0 ? "" : String(value),
                                "selected": options.smoothing == value ? "" : nil,
                            ],
                            text: value == 0 ? "none" : String(value))
                    }
                }
            }
            form.element("label") { label in
                label.text("line ")
                label.element("select", ["name": "line", "class": "auto"]) { select in
                    select.element("option", ["value": "", "selected": options.mean ? nil : ""], text: "last")
                    select.element("option", ["value": "mean", "selected": options.mean ? "" : nil], text: "mean")
                }
            }
            for (name, what) in [("from", "range start"), ("to", "range end")] {
                form.element("label") { label in
                    label.text(name + " ")
                    label.void(
                        "input",
                        [
                            "type": "number", "name": name, "value": request.first(name), "class": "range",
                            "aria-label": what,
                        ])
                }
            }
            form.element("button", ["type": "submit"], text: "Apply")
            if options.range != nil {
                form.element(
                    "a", ["href": View.url(path, request, ["from": nil, "to": nil]), "class": "quiet reset"],
                    text: "Reset zoom")
            }
        }
    }

    /// GET `/chart?runs=…&metric=KEY&x=…&from=…&to=…&w=…`: one chart as SVG (what a zoom or a
    /// live refresh swaps in), or with `format=json` its buckets for the hover readout.
    func chart(_ request: UIRequest) throws -> UIResponse {
        let ids = try request.all("runs").map(runID)
        guard !ids.isEmpty, ids.count <= Self.maxCompared else {
            throw UIError(400, "chart wants 1…\(Self.maxCompared) runs, not \(ids.count)")
        }
        guard let key = request.first("metric") else { throw UIError(400, "chart wants a metric") }
        var options = try View.chartOptions(request, width: 560, height: 220)
        options.share(with: ids.count)
        for id in ids { actions.refreshRun(id) }
        let runs = try ids.map { (id) throws(RunlogError) in try store.run(id) }
        let series = try runs.enumerated().compactMap { index, run -> ChartSeries? in
            guard run.metrics[key] != nil else { return nil }
            let origin = run.startTime ?? 0
            return ChartSeries(
                run: run.id, label: run.name.isEmpty ? run.id.description : run.name, color: Chart.color(index),
                buckets: try buckets(run.id, key, options, origin: origin), origin: origin)
        }
        if request.first("format") == "json" {
            return UIResponse(contentType: "application/json", body: Array(Self.hoverJSON(series, options).utf8))
        }
        return UIResponse(
            contentType: "image/svg+xml",
            body: Array(
                Chart.svg(
                    title: key, series: series, options: options,
                    dataURL: View.url("/chart", request, ["format": "json"])
                ).utf8))
    }

    /// Per series, each bucket's x, line value, timestamp, min and max: what the readout shows.
    static func hoverJSON(_ series: [ChartSeries], _ options: ChartOptions) -> String {
        func number(_ value: Double) -> String {
            value.isFinite ? "\(value)" : (value.isNaN ? "\"NaN\"" : (value > 0 ? "\"Infinity\"" : "\"-Infinity\""))
        }
        var out = "{\"series\":["
        for (n, item) in series.enumerated() {
            if n > 0 { out += "," }
            out +=
                "{\"run\":\"\(item.run)\",\"label\":" + JSONText.quote(item.label)
                + ",\"color\":\"\(item.color)\",\"points\":["
            for (m, bucket) in item.buckets.enumerated() {
                if m > 0 { out += "," }
                let point = bucket.last
                let value = options.mean ? bucket.mean : point.value
                out +=
                    "[\(Chart.position(point, options.axis, origin: item.origin)),\(number(value)),\(point.step),\(point.timestamp),\(number(bucket.min)),\(number(bucket.max))]"
            }
            out += "]}"
        }
        return out + "]}"
    }
}

enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "<": out += "\\u003c"  // never closes a script or markup it is put in
            default:
                if scalar.value < 0x20 || TextSafety.isBidiControl(scalar) || scalar.value == 0x2028
                    || scalar.value == 0x2029
                {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
