import Foundation
import Runlog
import Testing

@testable import RunlogUI

/// The four screens rendered from a fixture store: structure, escaping, the view in the URL.
@Suite struct PageTests {
    /// Two finished runs of "mnist" with params and two metrics, and a running one.
    func fixture() throws -> (UIStore, [RunID]) {
        let fixture = try UIStore()
        let experiment = try fixture.store.experiment(named: "mnist")
        var ids: [RunID] = []
        for (n, lr) in ["0.1", "0.01"].enumerated() {
            let run = try fixture.store.startRun(
                in: experiment, name: "run-\(n)", params: ["lr": lr, "optimizer": "adam"], tags: ["team": "vision"],
                startTime: 1_700_000_000_000 + Int64(n) * 1000, userID: "ada", captureEnvironment: false)
            for step in 0..<100 {
                try run.log(
                    "train/loss", 1.0 / Double(step + 1 + n), step: Int64(step),
                    timestamp: 1_700_000_000_000 + Int64(step))
                try run.log(
                    "val/acc", 0.5 + Double(step) / 1000 + Double(n) / 10, step: Int64(step),
                    timestamp: 1_700_000_000_000 + Int64(step))
            }
            try run.finish()
            ids.append(run.id)
        }
        let running = try fixture.store.startRun(
            in: experiment, name: "live", params: ["lr": "1"], captureEnvironment: false)
        try running.log("train/loss", 3, step: 0)
        try running.flush()
        ids.append(running.id)
        return (fixture, ids)
    }

    @Test func experimentsListShowsCountsAndFinds() throws {
        let (fixture, _) = try fixture()
        let page = fixture.page("/")
        #expect(page.hasPrefix("<!doctype html>"))
        #expect(page.contains("<a href=\"/experiments/"))
        #expect(page.contains(">mnist</a>"))
        // 3 runs, 1 running; the page refreshes itself while one runs.
        #expect(page.contains("<td class=\"num\">3</td><td class=\"num\">1</td>"))
        #expect(page.contains("<body data-live=\"1\">"))
        let none = fixture.page("/", ["q": ["cifar"]])
        #expect(none.contains("No experiment\u{2019}s name contains \u{201C}cifar\u{201D}."))
        #expect(!none.contains(">mnist</a>"))
        #expect(fixture.page("/", ["q": ["MNI"]]).contains(">mnist</a>"))
    }

    @Test func runsTableSortsFiltersPagesAndChoosesColumns() throws {
        let (fixture, ids) = try fixture()
        let experiment = try #require(try fixture.store.experiments().first { $0.name == "mnist" })
        let path = "/experiments/\(experiment.id)"
        let table = fixture.page(path)
        #expect(table.contains("<span class=\"count\" id=\"count\">3 runs</span>"))
        for title in ["Status", "Name", "Started", "lr", "optimizer", "train/loss", "val/acc"] {
            #expect(table.contains(">\(title)"), "column \(title)")
        }
        #expect(table.contains("<span class=\"badge running\">RUNNING</span>"))
        #expect(table.contains("<span class=\"badge finished\">FINISHED</span>"))
        // Sorted by the last train/loss, ascending: run-1 (1/101) before run-0 (1/100) before live (3).
        let sorted = fixture.page(path, ["sort": ["metrics.train/loss"], "dir": ["asc"]])
        let order = ["run-1", "run-0", "live"].map { sorted.range(of: ">\($0)</a>")!.lowerBound }
        #expect(order == order.sorted())
        #expect(sorted.contains("aria-sort=\"ascending\""))
        // A filter narrows; an aggregate column is chosen with `cols`.
        let filtered = fixture.page(path, ["filter": ["params.lr = '0.01'"], "cols": ["metrics.val/acc.max"]])
        #expect(filtered.contains("1 run<"))
        #expect(filtered.contains(">run-1</a>") && !filtered.contains(">run-0</a>"))
        #expect(filtered.contains(">val/acc (max)"))
        #expect(filtered.contains("<td class=\"num\">0.699</td>"))
        #expect(!filtered.contains(">optimizer<"))
        // A syntax error is shown at its column, and the table is empty rather than wrong.
        let bad = fixture.page(path, ["filter": ["metrics.loss <"]])
        #expect(bad.contains("role=\"alert\""))
        #expect(bad.contains("syntax error at column 15"))
        #expect(bad.contains("metrics.loss &lt;\n              ^"))
        #expect(bad.contains("No runs match."))
        // Paging.
        let second = fixture.page(path, ["size": ["2"], "page": ["2"]])
        #expect(second.contains("3 runs, showing 3–3"))
        #expect(second.contains("page 2 of 2"))
        #expect(fixture.get(path, ["sort": ["metrics.nope"]]).status == 400)
        #expect(fixture.get(path, ["sort": ["bogus"]]).status == 400)
        // A key logged after the table was drawn is a column the next time (the key cache sees it).
        #expect(!table.contains(">momentum<"))
        let live = try fixture.store.resumeRun(ids[2])
        try live.logParam("momentum", "0.9")
        try live.flush()
        #expect(fixture.page(path).contains(">momentum<"))
    }

    @Test func timesAndNumbers() {
        #expect(Format.exactTime(1_700_000_000_000) == "2023-11-14 22:13:20 UTC")
        #expect(Format.exactTime(-1) == "1969-12-31 23:59:59 UTC")
        #expect(Format.number(0.1) == "0.1")
        #expect(Format.number(1.0 / 3) == "0.333333")
        #expect(Format.number(3) == "3")
        #expect(Format.number(.nan) == "NaN" && Format.number(-.infinity) == "-Inf")
        #expect(Format.relativeTime(1_000_000, now: 1_000_000 + 5 * 60_000) == "5 min ago")
    }

    @Test func runPageHasEverySection() throws {
        let (fixture, ids) = try fixture()
        let file = fixture.path + "-notes.txt"
        try "hello <b>notes</b>\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let run = try fixture.store.resumeRun(ids[2])
        try run.logArtifact(file: file, path: "notes/readme.txt")
        try run.logDataset(
            name: "mnist-train", fields: ["digest": "d1g357", "source": "s3://bucket/mnist"],
            tags: ["mlflow.data.context": "training"])
        try run.flush()
        let page = fixture.page("/runs/\(ids[2])")
        for section in ["Run", "Params (1)", "Tags (", "Reproducibility", "Artifacts (1)", "Metrics (1)"] {
            #expect(page.contains(">\(section)"), "section \(section)")
        }
        #expect(page.contains("<a href=\"/runs/\(ids[2])/artifacts/notes/readme.txt\" download>notes/readme.txt</a>"))
        #expect(page.contains("<pre class=\"mono\">hello &lt;b&gt;notes&lt;/b&gt;\n</pre>"))
        #expect(
            page.contains(
                "<td>mnist-train</td><td class=\"mono\">d1g357</td><td class=\"mono\">s3://bucket/mnist</td><td>training</td>"
            ))
        #expect(page.contains("<h3 class=\"group\">train</h3>"))
        #expect(page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""))
        // Breadcrumbs: experiments → mnist → the run.
        #expect(page.contains("<a href=\"/\">Experiments</a><span class=\"sep\">/</span><a href=\"/experiments/"))
        #expect(page.contains("<span class=\"here\">live</span>"))

        let artifact = fixture.get("/runs/\(ids[2])/artifacts/notes/readme.txt")
        #expect(artifact.status == 200)
        #expect(artifact.contentType == "text/plain; charset=utf-8")
        #expect(artifact.artifactFile?.0.size == 19)
        #expect(artifact.headers.contains { $0 == ("Content-Security-Policy", UIResponse.artifactPolicy) })
        #expect(fixture.get("/runs/\(ids[2])/artifacts/notes/other.txt").status == 404)
        #expect(fixture.get("/runs/\(ids[2])/artifacts/../x").status == 400)
        #expect(fixture.get("/runs/nothex").status == 404)
    }

    @Test func runPageShowsHowToRerunAndPreviewsImages() throws {
        let fixture = try UIStore()
        let run = try fixture.store.startRun(in: try fixture.store.experiment(named: "e"), name: "captured")
        let image = fixture.path + "-plot.png"
        // A PNG's signature and a tiny header: enough to be served and shown as an image.
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: image))
        defer { unlink(image) }
        try run.logArtifact(file: image, path: "plots/loss.png")
        try run.finish()
        let page = fixture.page("/runs/\(run.id)")
        let info = try fixture.store.run(run.id)
        let command = try #require(info.rerunCommand)
        #expect(command.hasPrefix("cd "))
        #expect(
            page.contains(
                "<p class=\"rerun\">Rerun: <code>runlog rerun \(run.id)</code> or by hand: <code>\(HTML.escape(command))</code></p>"
            ))
        #expect(page.contains(">command line</th>") && page.contains(">working directory</th>"))
        #expect(page.contains("<img src=\"/runs/\(run.id)/artifacts/plots/loss.png\" alt=\"plots/loss.png\""))
        let served = fixture.get("/runs/\(run.id)/artifacts/plots/loss.png")
        #expect(served.contentType == "image/png")
        #expect(!served.headers.contains { $0.0 == "Content-Disposition" })
    }

    @Test func aRerunsPageShowsWhetherItReproducedAndTheOriginalListsIt() throws {
        let fixture = try UIStore()
        let experiment = try fixture.store.experiment(named: "e")
        func record(_ values: [Double], tags: [String: String] = [:]) throws -> RunID {
            let run = try fixture.store.startRun(in: experiment, name: "r", params: ["lr": "0.1"], tags: tags)
            for (step, value) in values.enumerated() { try run.log("loss", value, step: Int64(step)) }
            try run.finish()
            return run.id
        }
        let original = try record([1, 0.5])
        let same = try record([1, 0.5], tags: [RunRecipe.rerunTag: original.description])
        let other = try record([1, 0.4], tags: [RunRecipe.rerunTag: original.description])
        let reproduced = fixture.page("/runs/\(same)")
        #expect(reproduced.contains("Rerun of <a href=\"/runs/\(original)\">r</a>"))
        #expect(reproduced.contains("<span class=\"badge finished\">REPRODUCED</span>"))
        #expect(reproduced.contains("href=\"/compare?runs=\(original),\(same)\""))
        let differs = fixture.page("/runs/\(other)")
        #expect(differs.contains("<span class=\"badge failed\">DIFFERS</span>"))
        #expect(differs.contains("<li>metric loss: first differs at step 1: 0.5 vs 0.4</li>"))
        let page = fixture.page("/runs/\(original)")
        #expect(page.contains("Reruns: <a href=\"/runs/"))
        #expect(page.contains("<a href=\"/runs/\(same)\">r</a>") && page.contains("<a href=\"/runs/\(other)\">r</a>"))
    }

    @Test func comparePageOverlaysRunsAndMarksDifferences() throws {
        let (fixture, ids) = try fixture()
        let query = ["runs": ids.prefix(2).map(\.description)]
        let page = fixture.page("/compare", query)
        #expect(page.contains("<h1>Compare 2 runs</h1>"))
        // One chart per common metric, each with both runs' series in their colours.
        #expect(page.components(separatedBy: "<figure class=\"chart-box\"").count == 3)
        #expect(page.components(separatedBy: "<g class=\"series\" data-run=\"\(ids[0])\"").count >= 3)
        #expect(page.contains("stroke=\"\(Chart.color(1))\""))
        // lr differs, optimizer does not.
        #expect(page.contains("<tr class=\"differs\"><th scope=\"row\">lr</th><td>0.1</td><td>0.01</td></tr>"))
        #expect(page.contains("<tr><th scope=\"row\">optimizer</th><td>adam</td><td>adam</td></tr>"))
        let differences = fixture.page("/compare", query.merging(["diff": ["1"]]) { $1 })
        #expect(!differences.contains("<th scope=\"row\">optimizer</th>"))
        #expect(differences.contains("Show all"))
        #expect(page.contains("class=\"chart parallel\""))
        #expect(page.contains("class=\"chart scatter\""))
        #expect(page.contains("Params (1 of 2 differ)"))
        #expect(fixture.get("/compare").status == 400)
        #expect(fixture.get("/compare", ["runs": [String(repeating: "a", count: 32)]]).status == 404)
    }

    /// Names, params and tags are data: markup in them is shown as text on every page.
    @Test func markupInDataIsText() throws {
        let fixture = try UIStore()
        // Keys are plain (letters, digits, _ - . / : space) and names refuse control characters;
        // values may hold anything.
        let hostile = "<script>alert(1)</script>\u{202E}\"'"
        let control = hostile + "\u{1B}]0;x\u{07}"
        let experiment = try fixture.store.experiment(named: hostile)
        let run = try fixture.store.startRun(
            in: experiment, name: hostile, params: ["note": control], tags: ["t": control], captureEnvironment: false)
        try run.log("loss", 1, step: 0)
        try run.log("loss", 2, step: 1)
        try run.finish()
        let pages = [
            fixture.page("/"), fixture.page("/experiments/\(experiment.id)"), fixture.page("/runs/\(run.id)"),
            fixture.page("/compare", ["runs": [run.id.description]]),
            fixture.page("/chart", ["runs": [run.id.description], "metric": ["loss"]]),
        ]
        for page in pages {
            #expect(!page.contains("<script>alert"))
            #expect(!page.contains("\u{202E}") && !page.contains("\u{1B}") && !page.contains("\u{07}"))
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
        let json = String(
            decoding: fixture.get("/chart", ["runs": [run.id.description], "metric": ["loss"], "format": ["json"]])
                .body, as: UTF8.self)
        #expect(!json.contains("<"))
        #expect(try JSONSerialization.jsonObject(with: Data(json.utf8)) is [String: Any])
        let response = fixture.get("/")
        #expect(response.headers.contains { $0.0 == "Content-Security-Policy" && $0.1.contains("script-src 'self'") })
    }

    @Test func deleteAndRestoreFromTheTable() throws {
        let (fixture, ids) = try fixture()
        let experiment = try #require(try fixture.store.experiments().first { $0.name == "mnist" })
        let deleted = fixture.ui.respond(
            UIRequest(
                method: "POST", path: "/experiments/\(experiment.id)/delete-runs", form: ["runs": [ids[0].description]])
        )
        #expect(deleted.status == 303)
        #expect(try fixture.store.run(ids[0]).lifecycle == .deleted)
        #expect(fixture.page("/experiments/\(experiment.id)").contains("2 runs"))
        #expect(fixture.page("/experiments/\(experiment.id)", ["view": ["deleted"]]).contains(">run-0</a>"))
        let restored = fixture.ui.respond(
            UIRequest(
                method: "POST", path: "/experiments/\(experiment.id)/restore-runs", form: ["runs": [ids[0].description]]
            ))
        #expect(restored.status == 303)
        #expect(try fixture.store.run(ids[0]).lifecycle == .active)
        let nothing = fixture.ui.respond(UIRequest(method: "POST", path: "/experiments/\(experiment.id)/delete-runs"))
        #expect(nothing.status == 400)
        #expect(String(decoding: nothing.body, as: UTF8.self).contains("select at least one run to delete"))
    }

    @Test func staticFilesAndUnknownPaths() throws {
        let fixture = try UIStore()
        let css = fixture.get("/static/ui.css")
        #expect(css.status == 200 && css.contentType.hasPrefix("text/css"))
        #expect(String(decoding: css.body, as: UTF8.self).contains("--accent"))
        #expect(fixture.get("/static/ui.js").contentType.hasPrefix("text/javascript"))
        #expect(fixture.get("/static/nope.js").status == 404)
        #expect(fixture.get("/experiments/nope").status == 404)
        #expect(fixture.get("/chart", ["runs": ["x"]]).status == 404)
        #expect(fixture.get("/chart").status == 400)
    }
}
