import Runlog

extension TrackingUI {
    static let maxCompared = 100

    /// `/compare?runs=A&runs=B…`: the runs' curves overlaid, one chart per chosen metric
    /// (`metrics`; default those every run has, at most 4); the params table (`diff=1`: only
    /// rows that differ); metric summaries side by side; parallel coordinates of params → `pc`;
    /// a scatter of `sx` against `sy` (column specs as the runs table's).
    func comparePage(_ request: UIRequest) throws -> UIResponse {
        actions.refresh()
        var seen = Set<RunID>()
        let ids = try request.all("runs").map(runID).filter { seen.insert($0).inserted }
        guard !ids.isEmpty else { throw UIError(400, "select at least one run to compare") }
        guard ids.count <= Self.maxCompared else {
            throw UIError(400, "compare takes at most \(Self.maxCompared) runs, not \(ids.count)")
        }
        for id in ids { actions.refreshRun(id) }
        let runs = try ids.map { (id) throws(RunlogError) in try store.run(id) }
        let colors = runs.indices.map(Chart.color)
        var options = try View.chartOptions(request, width: 1100, height: 280)
        options.share(with: ids.count)
        let allMetrics = Set(runs.flatMap(\.metrics.keys))
        let common = allMetrics.filter { key in runs.allSatisfy { $0.metrics[key] != nil } }
        let chosen = request.all("metrics").filter(allMetrics.contains)
        let metrics = chosen.isEmpty ? Array((common.isEmpty ? allMetrics : common).sorted().prefix(4)) : chosen
        let onlyDifferences = request.first("diff") == "1"
        let path = "/compare"
        let label = { (run: RunInfo) in run.name.isEmpty ? String(run.id.description.prefix(8)) : run.name }

        var crumbs: [(String, String?)] = []
        let experiments = Set(runs.map(\.experimentID))
        if experiments.count == 1, let experiment = try? store.experiment(id: runs[0].experimentID) {
            crumbs.append((experiment.name, "/experiments/" + URLText.encode(experiment.id)))
        }
        crumbs.append(("Compare \(runs.count) runs", nil))
        var page = Page(title: "Compare \(runs.count) runs", crumbs: crumbs)
        page.live = runs.contains { $0.status == .running }
        page.body { html in
            html.element("div", ["class": "heading"]) { heading in
                heading.element("h1", text: "Compare \(runs.count) runs")
            }
            html.legend(Array(zip(runs, colors)))
            // Metric choice: a GET form of checkboxes, keeping the rest of the view.
            html.element("form", ["class": "metric-choice", "method": "get", "action": path]) { form in
                form.keep(request, except: ["metrics"])
                form.element("span", ["class": "quiet"], text: "Charts: ")
                for key in allMetrics.sorted() {
                    form.element("label") { label in
                        label.void(
                            "input",
                            [
                                "type": "checkbox", "name": "metrics", "value": key, "class": "auto",
                                "checked": metrics.contains(key) ? "" : nil,
                            ])
                        label.text(" " + key)
                    }
                }
                form.element("button", ["type": "submit"], text: "Show")
            }
            chartControls(&html, request, path: path, options: options)
            html.element("div", ["class": "charts wide"]) { charts in
                for key in metrics {
                    let series = runs.enumerated().compactMap { index, run -> ChartSeries? in
                        guard run.metrics[key] != nil else { return nil }
                        let origin = run.startTime ?? 0
                        return ChartSeries(
                            run: run.id, label: label(run), color: colors[index],
                            buckets: (try? buckets(run.id, key, options, origin: origin)) ?? [], origin: origin)
                    }
                    figure(&charts, key: key, series: series, runs: ids, options: options, request: request)
                }
            }
            paramsTable(&html, request, runs: runs, label: label, onlyDifferences: onlyDifferences)
            summaries(&html, runs: runs, label: label)
            html.element("div", ["class": "cards"]) { cards in
                parallel(&cards, request, runs: runs, colors: colors, metrics: metrics)
                scatter(&cards, request, runs: runs, colors: colors, metrics: metrics)
            }
        }
        return .html(page.render())
    }

    private func paramsTable(
        _ html: inout HTML, _ request: UIRequest, runs: [RunInfo], label: (RunInfo) -> String, onlyDifferences: Bool
    ) {
        let keys = Set(runs.flatMap(\.params.keys)).sorted()
        let rows = keys.map { key in (key, runs.map { $0.params[key] }) }
        let differing = rows.filter { Set($0.1.map { $0 ?? "\u{0}" }).count > 1 }
        html.element("section", ["aria-labelledby": "params-title"]) { section in
            section.element("div", ["class": "heading"]) { heading in
                heading.element(
                    "h2", ["id": "params-title"], text: "Params (\(differing.count) of \(keys.count) differ)")
                heading.link(
                    onlyDifferences ? "Show all" : "Only differences", to: "/compare", from: request,
                    changing: ["diff": onlyDifferences ? nil : "1"], class: "toggle-diff")
            }
            section.element("div", ["class": "scroll"]) { scroll in
                scroll.element("table", ["class": "grid compare", "id": "params-table"]) { table in
                    table.element("thead") { head in
                        head.element("tr") { row in
                            row.element("th", ["scope": "col"], text: "param")
                            for run in runs {
                                row.element("th", ["scope": "col"]) {
                                    $0.element("a", ["href": "/runs/\(run.id)"], text: label(run))
                                }
                            }
                        }
                    }
                    table.element("tbody") { body in
                        for (key, values) in onlyDifferences ? differing : rows {
                            let differs = Set(values.map { $0 ?? "\u{0}" }).count > 1
                            body.element("tr", ["class": differs ? "differs" : nil]) { row in
                                row.element("th", ["scope": "row"], text: key)
                                for value in values {
                                    row.element("td", ["class": value == nil ? "missing" : nil], text: value ?? "")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func summaries(_ html: inout HTML, runs: [RunInfo], label: (RunInfo) -> String) {
        let keys = Set(runs.flatMap(\.metrics.keys)).sorted()
        html.element("section", ["aria-labelledby": "summary-title"]) { section in
            section.element("h2", ["id": "summary-title"], text: "Metric summaries (last · min · max)")
            section.element("div", ["class": "scroll"]) { scroll in
                scroll.element("table", ["class": "grid compare", "id": "summary-table", "data-live": "summaries"]) {
                    table in
                    table.element("thead") { head in
                        head.element("tr") { row in
                            row.element("th", ["scope": "col"], text: "metric")
                            for run in runs { row.element("th", ["scope": "col"], text: label(run)) }
                        }
                    }
                    table.element("tbody") { body in
                        for key in keys {
                            // The best last value of the row is marked (lowest for loss-like keys is not
                            // assumed: both extremes are shown per run instead).
                            body.element("tr") { row in
                                row.element("th", ["scope": "row"], text: key)
                                for run in runs {
                                    guard let summary = run.metrics[key] else {
                                        row.element("td", ["class": "missing"], text: "")
                                        continue
                                    }
                                    row.element("td", ["class": "num"]) { cell in
                                        cell.element("strong", text: Format.number(summary.last.value))
                                        cell.element(
                                            "span", ["class": "quiet"],
                                            text: " · \(Format.number(summary.min)) · \(Format.number(summary.max))")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Columns one can put on an axis: every param, and each metric's last value.
    private func axisChoices(_ runs: [RunInfo]) -> [RunColumn] {
        Set(runs.flatMap(\.params.keys)).sorted().map { RunColumn(.param($0)) }
            + Set(runs.flatMap(\.metrics.keys)).sorted().map { RunColumn(.metric($0, .last)) }
    }

    private func parallel(
        _ html: inout HTML, _ request: UIRequest, runs: [RunInfo], colors: [String], metrics: [String]
    ) {
        let allMetrics = Set(runs.flatMap(\.metrics.keys))
        let target = request.first("pc").flatMap { allMetrics.contains($0) ? $0 : nil } ?? metrics.first
        let keys = Set(runs.flatMap(\.params.keys)).sorted()
        // Params that differ first: they are what the chart is for.
        let differing = keys.filter { key in Set(runs.map { $0.params[key] ?? "\u{0}" }).count > 1 }
        let shown = Array((differing.isEmpty ? keys : differing).prefix(8))
        var axes = shown.map { key in Plots.Axis(title: key, values: runs.map { $0.params[key] }) }
        if let target {
            axes.append(
                Plots.Axis(title: target, values: runs.map { $0.metrics[target].map { Format.number($0.last.value) } }))
        }
        html.element("section", ["class": "card wide", "aria-labelledby": "parallel-title"]) { card in
            card.element("div", ["class": "heading"]) { heading in
                heading.element("h2", ["id": "parallel-title"], text: "Params → \(target ?? "metric")")
                heading.element("form", ["method": "get", "action": "/compare", "class": "inline"]) { form in
                    form.keep(request, except: ["pc"])
                    form.element("select", ["name": "pc", "class": "auto", "aria-label": "metric"]) { select in
                        for key in allMetrics.sorted() {
                            select.element("option", ["value": key, "selected": key == target ? "" : nil], text: key)
                        }
                    }
                    form.element("button", ["type": "submit"], text: "Show")
                }
            }
            card.raw(Plots.parallel(axes: axes, runs: runs, colors: colors))
        }
    }

    private func scatter(_ html: inout HTML, _ request: UIRequest, runs: [RunInfo], colors: [String], metrics: [String])
    {
        let choices = axisChoices(runs)
        let params = Set(runs.flatMap(\.params.keys)), metricKeys = Set(runs.flatMap(\.metrics.keys))
        func column(_ name: String, _ fallback: RunColumn?) -> RunColumn? {
            request.first(name).flatMap { RunColumn(spec: $0, params: params, metrics: metricKeys) } ?? fallback
        }
        let firstParam = choices.first { if case .param = $0.kind { true } else { false } }
        let x = column("sx", firstParam ?? choices.first)
        let y = column("sy", metrics.first.map { RunColumn(.metric($0, .last)) } ?? choices.last)
        html.element("section", ["class": "card wide", "aria-labelledby": "scatter-title"]) { card in
            card.element("div", ["class": "heading"]) { heading in
                heading.element("h2", ["id": "scatter-title"], text: "Scatter")
                heading.element("form", ["method": "get", "action": "/compare", "class": "inline"]) { form in
                    form.keep(request, except: ["sx", "sy"])
                    for (name, current) in [("sx", x), ("sy", y)] {
                        form.element(
                            "select", ["name": name, "class": "auto", "aria-label": name == "sx" ? "x axis" : "y axis"]
                        ) { select in
                            for choice in choices {
                                select.element(
                                    "option", ["value": choice.spec, "selected": choice == current ? "" : nil],
                                    text: choice.spec)
                            }
                        }
                    }
                    form.element("button", ["type": "submit"], text: "Show")
                }
            }
            guard let x, let y else {
                card.element("p", ["class": "none"], text: "No params or metrics to plot.")
                return
            }
            card.raw(
                Plots.scatter(
                    x: Plots.Axis(title: x.spec, values: runs.map(x.value)),
                    y: Plots.Axis(title: y.spec, values: runs.map(y.value)),
                    runs: runs, colors: colors))
        }
    }
}
