import ArgumentParser
import Runlog

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show a run: attributes, params, tags, reproducibility inputs, artifacts, and every metric with a sparkline."
    )
    @OptionGroup var store: StoreOptionsGroup
    @Argument(help: ArgumentHelp("The run: an id, a unique prefix, or EXPERIMENT/RUN_NAME.", valueName: "run"))
    var runReference: String
    @OptionGroup var output: FormatOption
    @OptionGroup var damage: DamageOption

    func run() throws {
        let store = try self.store.open()
        let run = try store.run(try resolveRun(runReference, in: store))
        let damaged = damage.warn([run], store: store)
        try show(run, store)
        try damage.finish(damaged)
    }

    private func show(_ run: RunInfo, _ store: TrackingStore) throws {
        switch output.format {
        case .json, .jsonl:
            print(runJSON(run).text)
            return
        case .csv:
            // Everything as section,key,value rows.
            var table = DataTable(columns: ["section", "key", "value"])
            table.rows = [
                ["attribute", "run_id", run.id.description], ["attribute", "run_name", run.name],
                ["attribute", "experiment_id", run.experimentID], ["attribute", "status", run.status.description],
                ["attribute", "start_time", run.startTime.map(String.init) ?? ""],
                ["attribute", "end_time", run.endTime.map(String.init) ?? ""],
                ["attribute", "lifecycle_stage", run.lifecycle.rawValue],
            ]
            for (section, values) in [("param", run.params), ("tag", run.tags), ("input", run.inputs)] {
                for key in values.keys.sorted() { table.rows.append([section, key, values[key]!]) }
            }
            for key in run.metrics.keys.sorted() {
                table.rows.append(["metric", key, exactNumber(run.metrics[key]!.last.value)])
            }
            for path in run.artifacts.keys.sorted() {
                let artifact = run.artifacts[path]!
                table.rows.append(["artifact", path, "size=\(artifact.size) sha256=\(artifact.sha256)"])
            }
            table.print(.csv)
            return
        case .table:
            break
        }
        let experiment = try store.experiment(id: run.experimentID)
        // Names, keys and values are data: shown with their control characters escaped.
        let safe = { (text: String) in TextSafety.forTerminal(text) }
        print("run \(run.id)  \(safe(run.name))")
        print("  experiment  \(safe(experiment?.name ?? "-")) (\(run.experimentID))")
        print("  status      \(run.status)\(run.lifecycle == .deleted ? " (deleted)" : "")")
        print("  started     \(formatTime(run.startTime))")
        print("  ended       \(formatTime(run.endTime))  (\(formatDuration(run.startTime, run.endTime)))")
        print("  last write  \(formatTime(run.lastWriteTime))")
        if !run.damage.isEmpty {
            print(
                "  damaged     \(run.damage.count) problem\(run.damage.count == 1 ? "" : "s") in its log (see stderr)")
        }
        if let original = run.tags[RunRecipe.rerunTag] {
            print(
                "  rerun of    \(TextSafety.forTerminal(original))  (runlog compare \(TextSafety.forTerminal(original)) \(run.id) --reproduced)"
            )
        }
        if RunRecipe.canRerun(run) { print("  rerun       runlog rerun \(run.id)") }
        section("params", run.params)
        section("tags", run.tags)
        section("inputs", run.inputs)
        section("artifacts", run.artifacts.mapValues { "\($0.size) bytes  sha256:\($0.sha256)" })
        guard !run.metrics.isEmpty else { return }
        print("metrics")
        let width = run.metrics.keys.map { safe($0).count }.max() ?? 0
        for key in run.metrics.keys.sorted() {
            let s = run.metrics[key]!
            let line = (try? sparkline(store.downsample(run.id, key, buckets: 24, allowDamaged: true))) ?? ""
            print(
                "  \(safe(key).padding(toLength: width, withPad: " ", startingAt: 0))  \(line)  last \(formatNumber(s.last.value)) "
                    + "@\(s.last.step)  min \(formatNumber(s.min))  max \(formatNumber(s.max))  n \(s.count)")
        }
    }

    private func section(_ title: String, _ values: [String: String]) {
        guard !values.isEmpty else { return }
        print(title)
        let safe = { (text: String) in TextSafety.forTerminal(text) }
        let width = values.keys.map { safe($0).count }.max() ?? 0
        for key in values.keys.sorted() {
            print("  \(safe(key).padding(toLength: width, withPad: " ", startingAt: 0))  \(safe(values[key]!))")
        }
    }
}

/// A line of block characters, one a bucket, from each bucket's mean.
func sparkline(_ buckets: [Bucket]) -> String {
    let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    let values = buckets.map(\.mean).filter(\.isFinite)
    guard let low = values.min(), let high = values.max() else { return "" }
    return String(
        buckets.map { bucket in
            guard bucket.mean.isFinite else { return " " }
            // Halves first: the span of ±1.8e308 is not a finite double.
            let position = high > low ? (bucket.mean / 2 - low / 2) / (high / 2 - low / 2) : 0.5
            guard position.isFinite else { return " " }
            return levels[max(0, min(levels.count - 1, Int(position * Double(levels.count))))]
        })
}
