import Foundation
import Runlog
import Testing

@testable import RunlogUI

/// The Models page, a registered model's page, a logged model's page and files, and the run page's
/// list of the models a run logged.
@Suite struct ModelPageTests {
    @Test func modelsVersionsAliasesAndFilesAreShownAndEscaped() throws {
        let ui = try UIStore()
        let run = try ui.store.startRun(
            in: try ui.store.experiment(named: "churn"), name: "trainer", captureEnvironment: false)
        let model = try ui.models.createLoggedModel(
            experimentID: run.experimentID, name: "model <b>", modelType: nil, sourceRunID: run.id.description,
            params: ["C": "0.5"], tags: [:])
        let file = ui.path + "/MLmodel.src"
        try Data("flavors: {}\n".utf8).write(to: URL(fileURLWithPath: file))
        try ui.models.keepArtifact(file: file, path: "MLmodel", of: model.id, moving: false)
        _ = try ui.models.finalizeLoggedModel(model.id, status: .ready)
        try run.logModelOutput(ModelOutput(modelID: model.id, step: 0))
        try run.finish()
        _ = try ui.models.createRegisteredModel("churn <script>", description: "scores churn", tags: ["team": "risk"])
        _ = try ui.models.createVersion(
            of: "churn <script>", source: "models:/\(model.id)", runID: run.id.description, modelID: model.id,
            description: nil, tags: [:], runLink: nil)
        try ui.models.setAlias("champion", of: "churn <script>", to: 1)

        let list = ui.page("/models")
        #expect(list.contains("churn &lt;script&gt;") && !list.contains("churn <script>"))
        #expect(list.contains("href=\"/models/churn%20%3Cscript%3E\""))
        #expect(list.contains("@champion → v1"))

        let registered = ui.page("/models/churn <script>")
        #expect(registered.contains("Version 1") && registered.contains("href=\"/logged-models/\(model.id)\""))
        #expect(registered.contains("href=\"/runs/\(run.id)\"") && registered.contains("scores churn"))

        let logged = ui.page("/logged-models/\(model.id)")
        #expect(logged.contains("model &lt;b&gt;") && logged.contains("models:/\(model.id)"))
        #expect(
            logged.contains("/logged-models/\(model.id)/files/MLmodel")
                && logged.contains("churn &lt;script&gt; version 1"))
        let download = ui.get("/logged-models/\(model.id)/files/MLmodel")
        #expect(download.artifactFile?.0.size == 12)

        let runPage = ui.page("/runs/\(run.id)")
        #expect(runPage.contains("Logged models (1)") && runPage.contains("href=\"/logged-models/\(model.id)\""))
        #expect(ui.get("/models/nope").status == 404)
        #expect(ui.get("/logged-models/m-00000000000000000000000000000000").status == 404)
    }
}
