import Foundation
import Runlog

extension TrackingUI {
    /// `/runs/ID`: attributes, params, tags, reproducibility inputs, artifacts, and one chart per
    /// metric grouped by key prefix (`train/`, `val/`, `system/`). Chart options as on every page.
    func runPage(_ id: RunID, _ request: UIRequest) throws -> UIResponse {
        actions.refreshRun(id)
        let run = try store.run(id)
        let experiment = try? store.experiment(id: run.experimentID)
        let options = try View.chartOptions(request, width: 560, height: 220)
        let now = Format.now()
        let title = run.name.isEmpty ? id.description : run.name
        var crumbs: [(String, String?)] = []
        if let experiment { crumbs.append((experiment.name, "/experiments/" + URLText.encode(experiment.id))) }
        crumbs.append((title, nil))
        var page = Page(title: title, crumbs: crumbs)
        page.live = run.status == .running
        let color = Chart.color(0)
        page.body { html in
            html.element("div", ["class": "heading", "data-live": "run-heading"]) { heading in
                heading.element("h1", text: title)
                heading.status(run.status)
                if run.lifecycle == .deleted { heading.element("span", ["class": "badge killed"], text: "deleted") }
                if !run.damage.isEmpty { heading.element("span", ["class": "badge failed"], text: "damaged") }
                heading.element(
                    "a", ["class": "quiet", "href": "/compare?runs=\(id)"], text: "Open in compare")
            }
            if !run.damage.isEmpty { damage(&html, run) }
            html.element("div", ["class": "cards"]) { cards in
                cards.element(
                    "section", ["class": "card", "aria-labelledby": "attributes", "data-live": "run-attributes"]
                ) { card in
                    card.element("h2", ["id": "attributes"], text: "Run")
                    var pairs: [(String, String)] = [("id", id.description)]
                    if let experiment { pairs.append(("experiment", "\(experiment.name) (\(experiment.id))")) }
                    pairs.append(("status", run.status.description))
                    if let start = run.startTime { pairs.append(("started", Format.exactTime(start))) }
                    if let end = run.endTime { pairs.append(("ended", Format.exactTime(end))) }
                    if let duration = Format.duration(run, now: now) { pairs.append(("duration", duration)) }
                    if !run.userID.isEmpty { pairs.append(("user", run.userID)) }
                    card.pairs(pairs)
                }
                cards.element("section", ["class": "card", "aria-labelledby": "params"]) { card in
                    card.element("h2", ["id": "params"], text: "Params (\(run.params.count))")
                    card.pairs(run.params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
                cards.element("section", ["class": "card", "aria-labelledby": "tags"]) { card in
                    card.element("h2", ["id": "tags"], text: "Tags (\(run.tags.count))")
                    card.pairs(run.tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
                cards.element("section", ["class": "card wide", "aria-labelledby": "reproduce"]) { card in
                    card.element("h2", ["id": "reproduce"], text: "Reproducibility")
                    reproducibility(&card, run)
                }
                cards.element("section", ["class": "card wide", "aria-labelledby": "artifacts"]) { card in
                    card.element("h2", ["id": "artifacts"], text: "Artifacts (\(run.artifacts.count))")
                    artifacts(&card, run)
                }
                if !run.modelOutputs.isEmpty {
                    cards.element("section", ["class": "card wide", "aria-labelledby": "logged-models"]) { card in
                        card.element("h2", ["id": "logged-models"], text: "Logged models (\(run.modelOutputs.count))")
                        loggedModels(&card, run)
                    }
                }
            }
            html.element("section", ["aria-labelledby": "metrics"]) { section in
                section.element("div", ["class": "heading"]) { heading in
                    heading.element("h2", ["id": "metrics"], text: "Metrics (\(run.metrics.count))")
                    chartControls(&heading, request, path: "/runs/\(id)", options: options)
                }
                if run.metrics.isEmpty { section.element("p", ["class": "none"], text: "No metrics logged.") }
                for (group, keys) in Self.groups(run.metrics.keys) {
                    section.element("h3", ["class": "group"], text: group.isEmpty ? "metrics" : group)
                    section.element("div", ["class": "charts"]) { charts in
                        for key in keys {
                            let series = [
                                ChartSeries(
                                    run: id, label: title, color: color,
                                    buckets: (try? buckets(id, key, options, origin: run.startTime ?? 0)) ?? [],
                                    origin: run.startTime ?? 0)
                            ]
                            figure(&charts, key: key, series: series, runs: [id], options: options, request: request)
                        }
                    }
                }
            }
        }
        return .html(page.render())
    }

    /// Metric keys grouped by the part before their first `/` (`train/loss` → `train`), groups
    /// and keys in order; keys without a prefix form the "" group, first.
    static func groups(_ keys: some Collection<String>) -> [(String, [String])] {
        var groups: [String: [String]] = [:]
        for key in keys {
            let group = key.firstIndex(of: "/").map { String(key[..<$0]) } ?? ""
            groups[group, default: []].append(key)
        }
        return groups.keys.sorted().map { ($0, groups[$0]!.sorted()) }
    }

    private func reproducibility(_ html: inout HTML, _ run: RunInfo) {
        let inputs = run.inputs
        let known = [
            ("command_line", "command line"), ("working_directory", "working directory"), ("executable", "executable"),
            ("git_repository", "git repository"), ("git_commit", "git commit"), ("git_branch", "git branch"),
            ("git_dirty", "uncommitted changes"), ("hostname", "host"), ("os", "OS"), ("swift_version", "Swift"),
            ("python_version", "Python"),
        ]
        var pairs: [(String, String)] = []
        for (name, label) in known { if let value = inputs[name] { pairs.append((label, value)) } }
        for source in ["mlflow.source.name", "mlflow.source.git.commit", "mlflow.source.type"] {
            if let value = run.tags[source] { pairs.append((source, value)) }
        }
        let datasets = inputs.filter { $0.key.hasPrefix("dataset:") }.sorted { $0.key < $1.key }
        let others = inputs.filter { name, _ in
            !name.hasPrefix("dataset:") && !known.contains { $0.0 == name }
        }.sorted { $0.key < $1.key }
        for (name, value) in others { pairs.append((name, value)) }
        if pairs.isEmpty && datasets.isEmpty {
            html.element("p", ["class": "none"], text: "No reproducibility inputs were recorded for this run.")
            return
        }
        html.pairs(pairs, code: true)
        if let command = run.rerunCommand {
            html.element("p", ["class": "rerun"]) { p in
                p.text("Rerun: ")
                p.element("code", text: "runlog rerun \(run.id)")
                p.text(" or by hand: ")
                p.element("code", text: command)
            }
        }
        reruns(&html, run)
        if !datasets.isEmpty {
            html.element("h3", text: "Dataset inputs")
            html.element("table", ["class": "grid compact"]) { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        for title in ["Name", "Digest", "Source", "Context"] {
                            row.element("th", ["scope": "col"], text: title)
                        }
                    }
                }
                table.element("tbody") { body in
                    for (name, value) in datasets {
                        let fields =
                            (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any] ?? [:]
                        let tags = fields["tags"] as? [String: String] ?? [:]
                        body.element("tr") { row in
                            row.element("td", text: String(name.dropFirst("dataset:".count)))
                            row.element("td", ["class": "mono"], text: fields["digest"] as? String ?? "")
                            row.element(
                                "td", ["class": "mono"],
                                text: fields["source"] as? String ?? fields["source_type"] as? String ?? "")
                            row.element("td", text: tags["mlflow.data.context"] ?? "")
                        }
                    }
                }
            }
        }
    }

    /// The run this one reran, with the verdict of `runlog compare --reproduced` once it has
    /// ended; and the runs that reran this one.
    private func reruns(_ html: inout HTML, _ run: RunInfo) {
        if let text = run.tags[RunRecipe.rerunTag], let original = RunID(text) {
            html.element("div", ["class": "verdict"]) { box in
                box.element("p") { p in
                    p.text("Rerun of ")
                    p.element(
                        "a", ["href": "/runs/\(original)"],
                        text: (try? store.run(original).name) ?? original.description)
                    p.text(" · ")
                    p.element("a", ["href": "/compare?runs=\(original),\(run.id)"], text: "compare")
                }
                guard run.status.isTerminal else {
                    box.element("p", ["class": "quiet"], text: "Whether it reproduced is known when it ends.")
                    return
                }
                guard let result = try? store.reproduction(of: original, by: run.id) else {
                    box.element("p", ["class": "quiet"], text: "The original run cannot be read.")
                    return
                }
                box.element("p") { p in
                    p.element(
                        "span", ["class": "badge \(result.reproduced ? "finished" : "failed")"],
                        text: result.reproduced ? "REPRODUCED" : "DIFFERS")
                    p.text(
                        " \(result.metricsCompared) metrics, \(result.pointsCompared) points compared bit for bit; "
                            + "\(result.differences.count) differences (system/ metrics left out)")
                }
                if !result.differences.isEmpty {
                    box.element("ul") { list in
                        for difference in result.differences.prefix(20) {
                            list.element("li", text: difference.description)
                        }
                        if result.differences.count > 20 {
                            list.element("li", ["class": "quiet"], text: "… and \(result.differences.count - 20) more")
                        }
                    }
                }
            }
        }
        let reruns = store.runs(experimentIDs: nil).filter { $0.tags[RunRecipe.rerunTag] == run.id.description }
        if !reruns.isEmpty {
            html.element("p") { p in
                p.text("Reruns: ")
                for (index, rerun) in reruns.sorted(by: {
                    ($0.startTime ?? 0, $0.id.description) < ($1.startTime ?? 0, $1.id.description)
                }).enumerated() {
                    if index > 0 { p.text(", ") }
                    p.element(
                        "a", ["href": "/runs/\(rerun.id)"], text: rerun.name.isEmpty ? rerun.id.description : rerun.name
                    )
                }
            }
        }
    }

    private func artifacts(_ html: inout HTML, _ run: RunInfo) {
        guard !run.artifacts.isEmpty else {
            html.element("p", ["class": "none"], text: "No artifacts.")
            return
        }
        Self.files(&html, run.artifacts) { Self.artifactURL(run.id, $0) }
        // Previews: small text files inline, images as images.
        for (path, artifact) in run.artifacts.sorted(by: { $0.key < $1.key }) {
            let kind = ArtifactKind(path)
            if kind == .image {
                html.element("figure", ["class": "preview"]) { figure in
                    figure.void("img", ["src": Self.artifactURL(run.id, path), "alt": path, "loading": "lazy"])
                    figure.element("figcaption", text: path)
                }
            } else if kind == .text, artifact.size <= Self.previewBytes,
                let (_, file) = try? store.artifactFile(of: run.id, path),
                let data = FileManager.default.contents(atPath: file), data.count <= Self.previewBytes
            {
                html.element("figure", ["class": "preview"]) { figure in
                    figure.element("pre", ["class": "mono"], text: String(decoding: data, as: UTF8.self))
                    figure.element("figcaption", text: path)
                }
            }
        }
    }

    static let previewBytes: Int64 = 64 * 1024

    static func artifactURL(_ run: RunID, _ path: String) -> String {
        "/runs/\(run)/artifacts/" + path.split(separator: "/").map { URLText.encode(String($0)) }.joined(separator: "/")
    }

    /// GET `/runs/ID/artifacts/PATH`: the file. Text as text/plain and images as themselves;
    /// anything else (HTML and SVG included, which could run script) downloads, and every
    /// artifact is sandboxed.
    func artifact(_ id: RunID, _ path: String) throws -> UIResponse {
        guard let (artifact, file) = try store.artifactFile(of: id, path) else {
            throw UIError(404, "run \(id) has no artifact \(path)")
        }
        return Self.artifactResponse(artifact, file, path)
    }

    /// A recorded file as the UI serves it (a run's artifact or a logged model's file).
    static func artifactResponse(_ artifact: Artifact, _ file: String, _ path: String) -> UIResponse {
        let name = String(path.split(separator: "/").last ?? "artifact")
        var headers: [(String, String)] = []
        let type: String
        switch ArtifactKind(path) {
        case .text: type = "text/plain; charset=utf-8"
        case .image: type = ArtifactKind.imageType(path)
        case .other:
            type = "application/octet-stream"
            headers.append(
                (
                    "Content-Disposition",
                    "attachment; filename=\"\(name.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && !$0.isNewline })\""
                ))
        }
        var response = UIResponse(contentType: type, headers: headers, body: [])
        response.sandboxed = true
        response.artifactFile = (artifact, file)
        return response
    }
}

enum ArtifactKind {
    case text, image, other

    init(_ path: String) {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        if ["txt", "log", "json", "yaml", "yml", "md", "csv", "tsv", "py", "toml", "cfg", "ini", "sh", "swift"]
            .contains(ext)
        {
            self = .text
        } else if ["png", "jpg", "jpeg", "gif", "webp"].contains(ext) {
            self = .image
        } else {
            self = .other
        }
    }

    static func imageType(_ path: String) -> String {
        switch path.split(separator: ".").last.map({ $0.lowercased() }) {
        case "png": "image/png"
        case "gif": "image/gif"
        case "webp": "image/webp"
        default: "image/jpeg"
        }
    }
}

extension TrackingUI {
    /// The notice of a damaged run: its charts and summaries show what is left, and each problem
    /// says where the log lost data.
    func damage(_ html: inout HTML, _ run: RunInfo) {
        html.element("div", ["class": "damage", "role": "alert"]) { box in
            box.element(
                "p",
                text: "This run's log is damaged: records were skipped where it was read, so its charts and "
                    + "summaries may be missing points; runlog verify \(run.id) checks it.")
            box.element("ul") { list in
                for problem in run.damage { list.element("li", text: problem.description) }
            }
        }
    }
}
