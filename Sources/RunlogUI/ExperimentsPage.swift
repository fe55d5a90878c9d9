import Runlog

extension TrackingUI {
    /// `/`: every experiment with its run count and last activity; `q` finds by name (case-blind
    /// substring), `view=all` includes deleted ones.
    func experimentsPage(_ request: UIRequest) throws -> UIResponse {
        actions.refresh()
        let query = request.first("q") ?? ""
        let includeDeleted = request.first("view") == "all"
        let runs = store.runs(includeDeleted: true)
        var counts: [String: (count: Int, last: Int64, running: Int)] = [:]
        for run in runs where run.lifecycle == .active {
            var entry = counts[run.experimentID] ?? (0, 0, 0)
            entry.count += 1
            entry.last = Swift.max(entry.last, run.lastWriteTime ?? run.startTime ?? 0)
            if run.status == .running { entry.running += 1 }
            counts[run.experimentID] = entry
        }
        let experiments = try store.experiments(includeDeleted: includeDeleted).filter {
            query.isEmpty || $0.name.localizedCaseInsensitiveContains(query)
        }.sorted { (counts[$0.id]?.last ?? $0.creationTime) > (counts[$1.id]?.last ?? $1.creationTime) }
        let now = Format.now()
        var page = Page(title: "Experiments")
        page.live = experiments.contains { (counts[$0.id]?.running ?? 0) > 0 }
        page.body { html in
            html.element("div", ["class": "heading"]) { heading in
                heading.element("h1", text: "Experiments")
                heading.element("form", ["class": "search", "action": "/", "method": "get"]) { form in
                    form.void(
                        "input",
                        [
                            "type": "search", "name": "q", "value": query, "placeholder": "Search by name",
                            "aria-label": "Search experiments by name",
                        ])
                    if includeDeleted { form.void("input", ["type": "hidden", "name": "view", "value": "all"]) }
                    form.element("button", ["type": "submit"], text: "Search")
                }
                heading.link(
                    includeDeleted ? "Hide deleted" : "Show deleted", to: "/", from: request,
                    changing: ["view": includeDeleted ? nil : "all"], class: "quiet")
            }
            guard !experiments.isEmpty else {
                html.element(
                    "p", ["class": "none"],
                    text: query.isEmpty
                        ? "No experiments yet. Log a run (MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py) and it appears here."
                        : "No experiment\u{2019}s name contains \u{201C}\(query)\u{201D}.")
                return
            }
            html.element("table", ["class": "grid", "id": "experiments", "data-live": "experiments"]) { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        for title in ["Name", "Id", "Runs", "Running", "Last activity", "Created"] {
                            row.element("th", ["scope": "col"], text: title)
                        }
                    }
                }
                table.element("tbody") { body in
                    for experiment in experiments {
                        let entry = counts[experiment.id]
                        body.element("tr", ["class": experiment.lifecycle == .deleted ? "deleted" : nil]) { row in
                            row.element("td") { cell in
                                cell.element(
                                    "a", ["href": "/experiments/" + URLText.encode(experiment.id)],
                                    text: experiment.name)
                                if experiment.lifecycle == .deleted {
                                    cell.element("span", ["class": "badge killed"], text: "deleted")
                                }
                            }
                            row.element("td", ["class": "mono"], text: experiment.id)
                            row.element("td", ["class": "num"], text: String(entry?.count ?? 0))
                            row.element("td", ["class": "num"], text: String(entry?.running ?? 0))
                            row.element("td") { $0.time(entry.map(\.last) ?? experiment.lastUpdateTime, now: now) }
                            row.element("td") { $0.time(experiment.creationTime, now: now) }
                        }
                    }
                }
            }
        }
        return .html(page.render())
    }
}
