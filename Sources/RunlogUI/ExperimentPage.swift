import Runlog
import Synchronization

/// A column of the runs table beyond the fixed ones: a param, or a metric's last value, min or max.
struct RunColumn: Equatable {
    enum Kind: Equatable {
        case param(String)
        case metric(String, Aggregate)
    }

    enum Aggregate: String, CaseIterable {
        case last, min, max
    }

    let kind: Kind

    /// `params.lr`, `metrics.loss`, `metrics.loss.min`: the URL's `cols` and `sort` values.
    var spec: String {
        switch kind {
        case .param(let key): "params." + key
        case .metric(let key, .last): "metrics." + key
        case .metric(let key, let aggregate): "metrics." + key + "." + aggregate.rawValue
        }
    }

    var title: String {
        switch kind {
        case .param(let key): key
        case .metric(let key, .last): key
        case .metric(let key, let aggregate): key + " (\(aggregate.rawValue))"
        }
    }

    /// The order-by clause that sorts by this column, keys backquoted when they need it.
    var orderBy: String {
        switch kind {
        case .param(let key): "params." + Self.quoted(key)
        case .metric(let key, .last): "metrics." + Self.quoted(key)
        case .metric(let key, let aggregate): "metrics." + Self.quoted(key) + "." + aggregate.rawValue
        }
    }

    static func quoted(_ key: String) -> String {
        let plain = key.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "/" || $0 == "-"
        }
        return plain && !key.isEmpty ? key : "`" + key + "`"
    }

    /// A spec read against the keys the runs have, so a metric named `a.min` stays a metric.
    init?(spec: String, params: Set<String>, metrics: Set<String>) {
        if spec.hasPrefix("params.") {
            let key = String(spec.dropFirst(7))
            guard params.contains(key) else { return nil }
            kind = .param(key)
        } else if spec.hasPrefix("metrics.") {
            let rest = String(spec.dropFirst(8))
            if metrics.contains(rest) {
                kind = .metric(rest, .last)
                return
            }
            guard let dot = rest.lastIndex(of: "."),
                let aggregate = Aggregate(rawValue: String(rest[rest.index(after: dot)...])),
                metrics.contains(String(rest[..<dot]))
            else { return nil }
            kind = .metric(String(rest[..<dot]), aggregate)
        } else {
            return nil
        }
    }

    init(_ kind: Kind) { self.kind = kind }

    /// A spec read by its form alone: `metrics.K.min` is K's minimum (a sort is resolved before
    /// the keys are known; `isAmong` checks it against them).
    init?(spec: String) {
        if spec.hasPrefix("params."), spec.count > 7 {
            kind = .param(String(spec.dropFirst(7)))
        } else if spec.hasPrefix("metrics."), spec.count > 8 {
            let rest = String(spec.dropFirst(8))
            if let dot = rest.lastIndex(of: "."), dot != rest.startIndex,
                let aggregate = Aggregate(rawValue: String(rest[rest.index(after: dot)...])), aggregate != .last
            {
                kind = .metric(String(rest[..<dot]), aggregate)
            } else {
                kind = .metric(rest, .last)
            }
        } else {
            return nil
        }
    }

    func isAmong(params: Set<String>, metrics: Set<String>) -> Bool {
        switch kind {
        case .param(let key): params.contains(key)
        case .metric(let key, _): metrics.contains(key)
        }
    }

    func value(_ run: RunInfo) -> String? {
        switch kind {
        case .param(let key): return run.params[key]
        case .metric(let key, let aggregate):
            guard let summary = run.metrics[key] else { return nil }
            switch aggregate {
            case .last: return Format.number(summary.last.value)
            case .min: return Format.number(summary.min)
            case .max: return Format.number(summary.max)
            }
        }
    }
}

extension TrackingUI {
    static let pageSizes = [50, 100, 500]

    /// `/experiments/ID`: the runs table. `filter` (Runlog's grammar), `sort` (a column spec or
    /// `start`, `name`, `status`) with `dir`, `cols` (column specs; default every param and each
    /// metric's last value), `view` (active, deleted, all), `page` and `size`.
    func experimentPage(_ id: String, _ request: UIRequest) throws -> UIResponse {
        guard let experiment = try store.experiment(id: id) else { throw UIError(404, "no experiment with id \(id)") }
        actions.refresh()
        let filter = request.first("filter") ?? ""
        let view: ViewType =
            switch request.first("view") {
            case "deleted": .deletedOnly
            case "all": .all
            default: .activeOnly
            }
        let size = try request.first("size").map { try View.integer($0, "size", 1...5000) } ?? 100
        let pageNumber = try request.first("page").map { try View.integer($0, "page", 1...1_000_000) } ?? 1
        let ascending = request.first("dir") == "asc"
        let sort = request.first("sort") ?? "start"

        let builtin = ["start": "attributes.start_time", "name": "attributes.run_name", "status": "attributes.status"]
        let sortColumn = builtin[sort] == nil ? RunColumn(spec: sort) : nil
        guard let sortClause = builtin[sort] ?? sortColumn?.orderBy else {
            throw UIError(
                400, "cannot sort by \(sort): give a column such as params.lr, metrics.loss or metrics.loss.min")
        }
        var filterError: RunlogError?
        var runs: [RunInfo] = []
        do {
            runs = try store.search(
                filter, experimentIDs: [id], orderBy: [sortClause + (ascending ? " ASC" : " DESC")],
                maxResults: TrackingStore.maxSearchResults, viewType: view
            ).runs
        } catch {
            guard error.code == .filterSyntax || error.code == .filterType || error.code == .invalidArgument else {
                throw error
            }
            filterError = error
        }
        // Every key any run of the experiment has: the columns one can choose. Without a filter
        // the search's answer is every run already.
        let (paramKeys, metricKeys) = keyCache.keys(
            of: filter.isEmpty && filterError == nil
                ? runs : store.runs(experimentIDs: [id], includeDeleted: view != .activeOnly),
            experiment: id + "/" + view.rawValue)
        if let sortColumn, !sortColumn.isAmong(params: paramKeys, metrics: metricKeys) {
            // A metric whose own key ends in ".min" or ".max": sort again by the key itself.
            guard let keyed = RunColumn(spec: sort, params: paramKeys, metrics: metricKeys), filterError == nil else {
                throw UIError(400, "cannot sort by \(sort): no run of this experiment has it")
            }
            runs = try store.search(
                filter, experimentIDs: [id], orderBy: [keyed.orderBy + (ascending ? " ASC" : " DESC")],
                maxResults: TrackingStore.maxSearchResults, viewType: view
            ).runs
        }
        let chosen = request.all("cols").compactMap { RunColumn(spec: $0, params: paramKeys, metrics: metricKeys) }
        let columns =
            chosen.isEmpty
            ? paramKeys.sorted().prefix(12).map { RunColumn(.param($0)) }
                + metricKeys.sorted().prefix(12).map { RunColumn(.metric($0, .last)) }
            : chosen
        let pages = Swift.max(1, (runs.count + size - 1) / size)
        let shown = runs.dropFirst((Swift.min(pageNumber, pages) - 1) * size).prefix(size)
        let now = Format.now()
        let path = "/experiments/" + URLText.encode(id)

        var page = Page(title: experiment.name, crumbs: [(experiment.name, nil)])
        page.live = shown.contains { $0.status == .running }
        page.body { html in
            html.element("div", ["class": "heading"]) { heading in
                heading.element("h1", text: experiment.name)
                heading.element("span", ["class": "quiet mono"], text: "id \(experiment.id)")
                if experiment.lifecycle == .deleted {
                    heading.element("span", ["class": "badge killed"], text: "deleted")
                }
            }
            filterForm(
                &html, request, filter: filter, error: filterError, columns: columns, params: paramKeys,
                metrics: metricKeys)
            html.element("nav", ["class": "views", "aria-label": "which runs"]) { nav in
                for (label, value) in [("Active", nil), ("Deleted", "deleted"), ("All", "all")] as [(String, String?)] {
                    nav.link(
                        label, to: path, from: request, changing: ["view": value, "page": nil],
                        current: request.first("view") == value)
                }
                nav.element("span", ["class": "count", "id": "count"]) { count in
                    count.text(runs.count == 1 ? "1 run" : "\(runs.count) runs")
                    if runs.count > size {
                        let first = (Swift.min(pageNumber, pages) - 1) * size + 1
                        count.text(", showing \(first)–\(first + shown.count - 1)")
                    }
                }
            }
            html.element("form", ["id": "runs-form", "action": "/compare", "method": "get"]) { form in
                form.element("div", ["class": "actions"]) { actions in
                    actions.element("button", ["type": "submit", "class": "primary"], text: "Compare selected")
                    actions.element(
                        "button",
                        [
                            "type": "submit", "formaction": path + "/delete-runs", "formmethod": "post",
                            "class": "danger",
                        ],
                        text: "Delete")
                    actions.element(
                        "button", ["type": "submit", "formaction": path + "/restore-runs", "formmethod": "post"],
                        text: "Restore")
                }
                runsTable(
                    &form, request, path: path, runs: Array(shown), columns: columns, sort: sort, ascending: ascending,
                    now: now)
            }
            if pages > 1 {
                html.element("nav", ["class": "pager", "aria-label": "pages"]) { nav in
                    let current = Swift.min(pageNumber, pages)
                    if current > 1 {
                        nav.link("← Previous", to: path, from: request, changing: ["page": String(current - 1)])
                    }
                    nav.element("span", text: "page \(current) of \(pages)")
                    if current < pages {
                        nav.link("Next →", to: path, from: request, changing: ["page": String(current + 1)])
                    }
                    for choice in Self.pageSizes where choice != size {
                        nav.link(
                            "\(choice) a page", to: path, from: request,
                            changing: ["size": String(choice), "page": nil], class: "quiet")
                    }
                }
            }
        }
        return .html(page.render())
    }

    private func filterForm(
        _ html: inout HTML, _ request: UIRequest, filter: String, error: RunlogError?, columns: [RunColumn],
        params: Set<String>, metrics: Set<String>
    ) {
        html.element("form", ["class": "filter", "method": "get", "id": "filter-form"]) { form in
            for key in ["view", "sort", "dir", "size"] {
                if let value = request.first(key) {
                    form.void("input", ["type": "hidden", "name": key, "value": value])
                }
            }
            form.element("label", ["for": "filter"], text: "Filter")
            form.void(
                "input",
                [
                    "type": "text", "id": "filter", "name": "filter", "value": filter, "spellcheck": "false",
                    "placeholder": "metrics.loss < 0.5 and params.optimizer IN ('adam', 'sgd')",
                    "aria-invalid": error == nil ? nil : "true",
                    "aria-describedby": error == nil ? nil : "filter-error",
                    "class": "mono",
                ])
            form.element("button", ["type": "submit"], text: "Apply")
            // The column chooser: every param, and each metric's last, min and max.
            form.element("details", ["class": "columns"]) { details in
                details.element("summary", text: "Columns (\(columns.count))")
                details.element("div", ["class": "choices"]) { choices in
                    let specs = Set(columns.map(\.spec))
                    func choice(_ column: RunColumn) {
                        choices.element("label") { label in
                            label.void(
                                "input",
                                [
                                    "type": "checkbox", "name": "cols", "value": column.spec,
                                    "checked": specs.contains(column.spec) ? "" : nil,
                                ])
                            label.text(" " + column.title)
                        }
                    }
                    choices.element("p", ["class": "group"], text: "Params")
                    for key in params.sorted() { choice(RunColumn(.param(key))) }
                    choices.element("p", ["class": "group"], text: "Metrics")
                    for key in metrics.sorted() {
                        for aggregate in RunColumn.Aggregate.allCases { choice(RunColumn(.metric(key, aggregate))) }
                    }
                }
                details.element("button", ["type": "submit"], text: "Show these columns")
            }
        }
        if let error {
            html.element("div", ["class": "filter-error", "id": "filter-error", "role": "alert"]) { box in
                box.element("p", text: error.message)
                if let column = error.column, column >= 1, column <= filter.count + 1 {
                    box.element("pre", ["class": "mono caret"]) { pre in
                        pre.text(filter + "\n" + String(repeating: " ", count: column - 1) + "^")
                    }
                }
            }
        }
    }

    private func runsTable(
        _ html: inout HTML, _ request: UIRequest, path: String, runs: [RunInfo], columns: [RunColumn], sort: String,
        ascending: Bool, now: Int64
    ) {
        html.element("div", ["class": "scroll"]) { scroll in
            scroll.element("table", ["class": "grid runs", "id": "runs"]) { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        row.element("th", ["class": "pick"]) { $0.element("span", ["class": "hidden"], text: "select") }
                        func sortable(_ title: String, _ key: String, class name: String? = nil) {
                            let active = sort == key
                            row.element(
                                "th",
                                [
                                    "scope": "col", "class": name,
                                    "aria-sort": active ? (ascending ? "ascending" : "descending") : nil,
                                ]
                            ) { cell in
                                cell.link(
                                    title + (active ? (ascending ? " ▲" : " ▼") : ""), to: path, from: request,
                                    changing: ["sort": key, "dir": active && !ascending ? "asc" : "desc", "page": nil])
                            }
                        }
                        sortable("Status", "status")
                        sortable("Name", "name")
                        sortable("Started", "start")
                        row.element("th", ["scope": "col"], text: "Duration")
                        row.element("th", ["scope": "col"], text: "User")
                        for column in columns {
                            if case .param = column.kind {
                                sortable(column.title, column.spec, class: "param")
                            } else {
                                sortable(column.title, column.spec, class: "metric num")
                            }
                        }
                    }
                }
                table.element("tbody", ["data-live": "runs"]) { body in
                    if runs.isEmpty {
                        body.element("tr") { row in
                            row.element(
                                "td", ["colspan": String(5 + columns.count + 1), "class": "none"],
                                text: "No runs match.")
                        }
                    }
                    for run in runs {
                        let id = run.id.description
                        body.element("tr", ["class": run.lifecycle == .deleted ? "deleted" : nil, "data-run": id]) {
                            row in
                            row.element("td", ["class": "pick"]) { cell in
                                cell.void(
                                    "input",
                                    [
                                        "type": "checkbox", "name": "runs", "value": id,
                                        "aria-label": "select \(run.name.isEmpty ? id : run.name)",
                                    ])
                            }
                            row.element("td") { cell in
                                cell.status(run.status)
                                if !run.damage.isEmpty {
                                    cell.element(
                                        "span", ["class": "badge failed", "title": "its log is damaged"],
                                        text: "damaged")
                                }
                            }
                            row.element("td") { cell in
                                cell.element(
                                    "a", ["href": "/runs/" + id],
                                    text: run.name.isEmpty ? String(id.prefix(8)) : run.name)
                            }
                            row.element("td") { $0.time(run.startTime, now: now) }
                            row.element("td", ["class": "num"], text: Format.duration(run, now: now) ?? "–")
                            row.element("td", text: run.userID)
                            for column in columns {
                                let value = column.value(run)
                                if case .param = column.kind {
                                    row.element("td", ["class": value == nil ? "missing" : nil], text: value ?? "")
                                } else {
                                    row.element(
                                        "td", ["class": value == nil ? "num missing" : "num"], text: value ?? "")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// POST `/experiments/ID/delete-runs` (or `restore-runs`) with `runs`: then back to the table.
    func changeRuns(experiment: String, delete: Bool, _ request: UIRequest) throws -> UIResponse {
        let ids = (request.form["runs"] ?? []).compactMap(RunID.init)
        guard !ids.isEmpty else { throw UIError(400, "select at least one run to \(delete ? "delete" : "restore")") }
        for id in ids {
            guard (try? store.run(id))?.experimentID == experiment else {
                throw UIError(400, "run \(id) is not in experiment \(experiment)")
            }
        }
        for id in ids { try delete ? actions.deleteRun(id) : actions.restoreRun(id) }
        return .redirect("/experiments/" + URLText.encode(experiment) + (delete ? "" : "?view=all"))
    }
}

/// The param and metric keys of an experiment's runs, kept while the runs stay the same: hashing
/// every key of 10,000 runs is most of the work of a runs table.
final class KeyCache: Sendable {
    private struct Entry {
        /// Changes when a run is added, removed or deleted, gains a key, or is written to:
        /// runs only grow, so an equal stamp means equal keys.
        let stamp: [Int64]
        let params: Set<String>
        let metrics: Set<String>
    }

    private let entries = Mutex<[String: Entry]>([:])

    func keys(of runs: [RunInfo], experiment: String) -> (Set<String>, Set<String>) {
        var stamp: [Int64] = [Int64(runs.count), 0, 0, 0]
        for run in runs {
            stamp[1] += Int64(run.params.count)
            stamp[2] += Int64(run.metrics.count)
            stamp[3] = Swift.max(stamp[3], run.lastWriteTime ?? 0)
        }
        if let entry = entries.withLock({ $0[experiment] }), entry.stamp == stamp {
            return (entry.params, entry.metrics)
        }
        var params: Set<String> = [], metrics: Set<String> = []
        for run in runs {
            params.formUnion(run.params.keys)
            metrics.formUnion(run.metrics.keys)
        }
        entries.withLock { $0[experiment] = Entry(stamp: stamp, params: params, metrics: metrics) }
        return (params, metrics)
    }
}
