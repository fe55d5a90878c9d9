import Foundation
import Runlog

/// The model registry and logged models: `/models` (every registered model), `/models/NAME` (its
/// versions, aliases and tags), `/logged-models/ID` (a logged model's params, metrics, tags and
/// files), and the run page's list of the models a run logged.
extension TrackingUI {
    func modelsPage(_ request: UIRequest) throws -> UIResponse {
        let models = try self.modelStore().allRegisteredModels().sorted { $0.name < $1.name }
        let now = Format.now()
        var page = Page(title: "Models", crumbs: [("Models", nil)])
        page.body { html in
            html.element("div", ["class": "heading"]) { $0.element("h1", text: "Registered models") }
            guard !models.isEmpty else {
                html.element(
                    "p", ["class": "none"],
                    text:
                        "No registered models yet. mlflow.register_model(\"runs:/<run id>/model\", \"name\") adds one.")
                return
            }
            html.element("table", ["class": "grid", "id": "models"]) { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        for title in ["Name", "Latest version", "Aliases", "Tags", "Last modified"] {
                            row.element("th", ["scope": "col"], text: title)
                        }
                    }
                }
                table.element("tbody") { body in
                    for model in models {
                        body.element("tr") { row in
                            row.element("td") {
                                $0.element("a", ["href": Self.modelURL(model.name)], text: model.name)
                            }
                            row.element(
                                "td", ["class": "num"], text: model.versions.keys.max().map { "Version \($0)" } ?? "—")
                            row.element(
                                "td",
                                text: model.aliases.sorted { $0.key < $1.key }.map { "@\($0.key) → v\($0.value)" }
                                    .joined(separator: ", "))
                            row.element(
                                "td",
                                text: model.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                                    .joined(separator: ", "))
                            row.element("td") { $0.time(model.lastUpdatedTime, now: now) }
                        }
                    }
                }
            }
        }
        return .html(page.render())
    }

    func registeredModelPage(_ name: String) throws -> UIResponse {
        let model = try modelStore().registeredModel(name)
        let now = Format.now()
        var page = Page(title: name, crumbs: [("Models", "/models"), (name, nil)])
        page.body { html in
            html.element("div", ["class": "heading"]) { $0.element("h1", text: name) }
            html.element("div", ["class": "cards"]) { cards in
                cards.element("section", ["class": "card", "aria-labelledby": "about"]) { card in
                    card.element("h2", ["id": "about"], text: "Model")
                    var pairs = [("versions", String(model.versions.count))]
                    if !model.description.isEmpty { pairs.append(("description", model.description)) }
                    pairs.append(("created", Format.exactTime(model.creationTime)))
                    pairs.append(("last modified", Format.exactTime(model.lastUpdatedTime)))
                    card.pairs(pairs)
                }
                cards.element("section", ["class": "card", "aria-labelledby": "aliases"]) { card in
                    card.element("h2", ["id": "aliases"], text: "Aliases (\(model.aliases.count))")
                    card.pairs(model.aliases.sorted { $0.key < $1.key }.map { ("@" + $0.key, "version \($0.value)") })
                }
                cards.element("section", ["class": "card", "aria-labelledby": "tags"]) { card in
                    card.element("h2", ["id": "tags"], text: "Tags (\(model.tags.count))")
                    card.pairs(model.tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
            }
            html.element("h2", text: "Versions")
            html.element("table", ["class": "grid", "id": "versions"]) { table in
                table.element("thead") { head in
                    head.element("tr") { row in
                        for title in ["Version", "Aliases", "Stage", "Source run", "Logged model", "Created", "Tags"] {
                            row.element("th", ["scope": "col"], text: title)
                        }
                    }
                }
                table.element("tbody") { body in
                    for number in model.versions.keys.sorted(by: >) {
                        guard let version = model.version(number) else { continue }
                        body.element("tr") { row in
                            row.element("td", ["class": "num"], text: "Version \(number)")
                            row.element("td", text: version.aliases.map { "@" + $0 }.joined(separator: ", "))
                            row.element("td", text: version.stage.rawValue)
                            row.element("td") { cell in
                                if let run = RunID(version.runID) {
                                    let name =
                                        (try? store.run(run).name).flatMap { $0.isEmpty ? nil : $0 } ?? version.runID
                                    cell.element("a", ["href": "/runs/\(run)"], text: name)
                                } else {
                                    cell.element("span", ["class": "mono"], text: version.source)
                                }
                            }
                            row.element("td") { cell in
                                if let id = version.modelID {
                                    cell.element("a", ["class": "mono", "href": "/logged-models/\(id)"], text: id)
                                }
                            }
                            row.element("td") { $0.time(version.creationTime, now: now) }
                            row.element(
                                "td",
                                text: version.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                                    .joined(separator: ", "))
                        }
                    }
                }
            }
        }
        return .html(page.render())
    }

    func loggedModelPage(_ id: String) throws -> UIResponse {
        let models = try modelStore()  // reads what others appended, once for the page
        let model = try models.loggedModel(id)
        let run = model.sourceRunID.flatMap(RunID.init).flatMap { try? store.run($0) }
        var crumbs: [(String, String?)] = []
        if let run {
            if let experiment = try? store.experiment(id: run.experimentID) {
                crumbs.append((experiment.name, "/experiments/" + URLText.encode(experiment.id)))
            }
            crumbs.append((run.name.isEmpty ? run.id.description : run.name, "/runs/\(run.id)"))
        }
        crumbs.append((model.name, nil))
        let versions = models.allRegisteredModels().flatMap { registered in
            registered.versions.values.filter { $0.modelID == id }.map { (registered.name, $0.version) }
        }.sorted { $0 < $1 }
        var page = Page(title: model.name, crumbs: crumbs)
        page.body { html in
            html.element("div", ["class": "heading"]) { heading in
                heading.element("h1", text: model.name)
                heading.element(
                    "span", ["class": model.status == .ready ? "badge finished" : "badge running"],
                    text: Self.label(model.status))
            }
            html.element("div", ["class": "cards"]) { cards in
                cards.element("section", ["class": "card", "aria-labelledby": "about"]) { card in
                    card.element("h2", ["id": "about"], text: "Logged model")
                    var pairs = [("id", model.id), ("uri", "models:/\(model.id)")]
                    if !model.modelType.isEmpty { pairs.append(("type", model.modelType)) }
                    pairs.append(("created", Format.exactTime(model.creationTime)))
                    for (name, number) in versions { pairs.append(("registered", "\(name) version \(number)")) }
                    card.pairs(pairs)
                }
                cards.element("section", ["class": "card", "aria-labelledby": "params"]) { card in
                    card.element("h2", ["id": "params"], text: "Params (\(model.params.count))")
                    card.pairs(model.params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
                cards.element("section", ["class": "card", "aria-labelledby": "metrics"]) { card in
                    card.element("h2", ["id": "metrics"], text: "Metrics (\(model.metrics.count))")
                    card.pairs(model.metrics.map { ($0.key, "\(Format.number($0.value)) at step \($0.step)") })
                }
                cards.element("section", ["class": "card", "aria-labelledby": "tags"]) { card in
                    card.element("h2", ["id": "tags"], text: "Tags (\(model.tags.count))")
                    card.pairs(model.tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
                cards.element("section", ["class": "card wide", "aria-labelledby": "files"]) { card in
                    card.element("h2", ["id": "files"], text: "Files (\(model.artifacts.count))")
                    Self.files(&card, model.artifacts) { Self.loggedModelFileURL(id, $0) }
                }
            }
        }
        return .html(page.render())
    }

    /// GET `/logged-models/ID/files/PATH`: a model's file, served as a run's artifact is.
    func loggedModelFile(_ id: String, _ path: String) throws -> UIResponse {
        guard let (artifact, file) = try modelStore().artifactFile(of: id, path) else {
            throw UIError(404, "logged model \(id) has no file \(path)")
        }
        return Self.artifactResponse(artifact, file, path)
    }

    /// The run page's card of the models the run logged.
    func loggedModels(_ html: inout HTML, _ run: RunInfo) {
        let logged = run.modelOutputs.compactMap { output in try? models?.loggedModel(output.modelID) }
        guard !logged.isEmpty else {
            html.element("p", ["class": "none"], text: "No logged models.")
            return
        }
        html.element("table", ["class": "grid compact"]) { table in
            table.element("thead") { head in
                head.element("tr") { row in
                    for title in ["Name", "Id", "Status", "Files"] { row.element("th", ["scope": "col"], text: title) }
                }
            }
            table.element("tbody") { body in
                for model in logged {
                    body.element("tr") { row in
                        row.element("td") { $0.element("a", ["href": "/logged-models/\(model.id)"], text: model.name) }
                        row.element("td", ["class": "mono"], text: model.id)
                        row.element("td", text: Self.label(model.status))
                        row.element("td", ["class": "num"], text: String(model.artifacts.count))
                    }
                }
            }
        }
    }

    /// A table of recorded files, each a download link.
    static func files(_ html: inout HTML, _ artifacts: [String: Artifact], url: (String) -> String) {
        guard !artifacts.isEmpty else {
            html.element("p", ["class": "none"], text: "No files.")
            return
        }
        html.element("table", ["class": "grid compact"]) { table in
            table.element("thead") { head in
                head.element("tr") { row in
                    for title in ["Path", "Size", "SHA-256"] { row.element("th", ["scope": "col"], text: title) }
                }
            }
            table.element("tbody") { body in
                for (path, artifact) in artifacts.sorted(by: { $0.key < $1.key }) {
                    body.element("tr") { row in
                        row.element("td") { $0.element("a", ["href": url(path), "download": ""], text: path) }
                        row.element("td", ["class": "num"], text: Format.bytes(artifact.size))
                        row.element(
                            "td", ["class": "mono digest", "title": artifact.sha256],
                            text: String(artifact.sha256.prefix(16)) + "…")
                    }
                }
            }
        }
    }

    /// A logged model's status as the pages name it.
    static func label(_ status: LoggedModelStatus) -> String {
        switch status {
        case .ready: "ready"
        case .pending: "pending"
        case .uploadFailed: "upload failed"
        }
    }

    static func modelURL(_ name: String) -> String { "/models/" + URLText.encode(name) }

    static func loggedModelFileURL(_ id: String, _ path: String) -> String {
        "/logged-models/\(id)/files/"
            + path.split(separator: "/").map { URLText.encode(String($0)) }.joined(separator: "/")
    }

    func modelStore() throws -> ModelStore {
        guard let models else { throw UIError(404, "this server keeps no models") }
        try? models.refresh()
        return models
    }
}
