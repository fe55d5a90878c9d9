import ArgumentParser
import Runlog

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check every checksum (segments and index snapshots) and decode every block of runs; exit 1 on corruption.",
        discussion: """
            A torn tail (a writer stopped mid-record) is mentioned but is not a failure. Experiment \
            files that cannot be read are errors too, and so is an artifact whose file is missing or \
            differs from the size and SHA-256 its run recorded. With no runs named, it also checks the \
            model journal (logged models and the registry) and every logged model's files.
            """)

    @OptionGroup var store: StoreOptionsGroup

    @Argument(help: "Runs to check (ids or unique prefixes); all runs when none are given.")
    var runs: [String] = []

    func run() throws {
        let tracking = try self.store.open()
        let store = tracking.engine
        let ids = runs.isEmpty ? try store.runs() : try runs.map { try resolveRun($0, in: tracking) }
        var clean = true
        var lines: [String] = []
        let progress = ProgressBar(total: ids.count)
        for id in ids {
            progress.advance(label: "verify")
            let report = try store.verify(id)
            lines.append(
                "\(id): \(report.series) series, \(report.blocks) blocks, \(report.points) points, \(report.records) records"
            )
            if let torn = report.tornTail { lines.append("  note: \(torn)") }
            for problem in report.problems { lines.append("  \(problem.isCorruption ? "error" : "note"): \(problem)") }
            clean = clean && report.isClean
            if let artifacts = try? tracking.run(id).artifacts, !artifacts.isEmpty {
                let problems = try tracking.verifyArtifacts(of: id)
                lines.append("  artifacts: \(artifacts.count) checked")
                for problem in problems { lines.append("  error: \(problem)") }
                clean = clean && problems.isEmpty
            }
        }
        progress.finish()
        if runs.isEmpty {
            for damage in try tracking.damagedExperimentFiles() {
                lines.append("error: \(damage)")
                clean = false
            }
            let models = try ModelStore(storePath: tracking.path)
            if let damage = models.damage {
                lines.append("error: model journal: \(damage)")
                clean = false
            }
            for model in models.allLoggedModels().filter({ !$0.deleted }).sorted(by: { $0.id < $1.id }) {
                let problems = try models.verifyArtifacts(of: model.id)
                lines.append(
                    "logged model \(model.id) (\(TextSafety.forTerminal(model.name))): \(model.artifacts.count) files checked"
                )
                for problem in problems { lines.append("  error: \(problem)") }
                clean = clean && problems.isEmpty
            }
        }
        for line in lines { print(line) }
        if !clean { throw ExitCode(1) }
    }
}
