import ArgumentParser
import Runlog

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the history of one metric of a run, or its downsampled history with --buckets.",
        discussion: "CSV and JSON Lines stream: the history is never held in memory whole.")
    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @OptionGroup var damage: DamageOption
    @Argument(help: ArgumentHelp("The run: an id, a unique prefix, or EXPERIMENT/RUN_NAME.", valueName: "run"))
    var runReference: String
    @Argument(help: "The metric key.") var key: String
    @Option(help: "Only steps in A:B (inclusive; either side may be empty).") var steps: String?
    @Option(
        help: ArgumentHelp(
            "Only points at or after this time: ms since the epoch, an ISO 8601 date or time (UTC unless it has an offset), or a duration before now such as 2h or 3d.",
            valueName: "time"))
    var since: TimeArgument?
    @Option(help: ArgumentHelp("Only points at or before this time (as --since).", valueName: "time"))
    var until: TimeArgument?
    @Option(help: "Downsample into this many buckets (min, max, first, last, mean, count each).") var buckets: Int?

    func validate() throws {
        if let steps { _ = try parseStepRange(steps) }
        if let buckets, buckets < 1 { throw ValidationError("--buckets must be at least 1") }
        if let since, let until, since.milliseconds > until.milliseconds {
            throw ValidationError("--since is after --until")
        }
    }

    func run() throws {
        let store = try self.store.open()
        let id = try resolveRun(runReference, in: store)
        var range = ScanRange.all
        if let steps { range.steps = try parseStepRange(steps) }
        if since != nil || until != nil {
            range.timestamps = (since?.milliseconds ?? .min)...(until?.milliseconds ?? .max)
        }
        let info = try store.run(id)
        // An unknown key is an error before anything is printed: stdout stays empty, and the
        // library's message (with the run's keys) goes to stderr.
        if info.metrics[key] == nil { try store.history(of: id, key, range: .all, allowDamaged: true) { _ in } }
        let damaged = damage.warn([info], store: store)
        try printPoints(store, id, range)
        try damage.finish(damaged)
    }

    private func printPoints(_ store: TrackingStore, _ id: RunID, _ range: ScanRange) throws {
        if let buckets {
            var table = DataTable(columns: ["start", "end", "count", "min", "max", "mean", "first", "last"])
            for b in try store.downsample(id, key, buckets: buckets, range: range, allowDamaged: true) {
                let exact = output.format != .table
                let show = exact ? exactNumber : { formatNumber($0) }
                table.rows.append([
                    "\(b.start)", "\(b.end)", "\(b.count)", show(b.min), show(b.max), show(b.mean), show(b.first.value),
                    show(b.last.value),
                ])
                table.objects.append(
                    .object([
                        ("key", .string(key)), ("start_step", .integer(b.start)), ("end_step", .integer(b.end)),
                        ("count", .integer(Int64(b.count))), ("min", .value(b.min)), ("max", .value(b.max)),
                        ("mean", .value(b.mean)),
                        ("first", .value(b.first.value)), ("last", .value(b.last.value)),
                    ]))
            }
            table.print(output.format)
            return
        }
        switch output.format {
        case .table:
            print("step      timestamp              value")
            try store.history(of: id, key, range: range, allowDamaged: true) { chunk in
                for p in chunk {
                    print(
                        "\(String(p.step).padding(toLength: 9, withPad: " ", startingAt: 0)) \(formatTime(p.timestamp))    \(exactNumber(p.value))"
                    )
                }
            }
        case .csv:
            print("step,timestamp,value")
            try store.history(of: id, key, range: range, allowDamaged: true) { chunk in
                for p in chunk { print("\(p.step),\(p.timestamp),\(exactNumber(p.value))") }
            }
        case .json, .jsonl:
            try store.history(of: id, key, range: range, allowDamaged: true) { chunk in
                for p in chunk {
                    print(
                        JSON.object([
                            ("key", .string(key)), ("value", .value(p.value)), ("timestamp", .integer(p.timestamp)),
                            ("step", .integer(p.step)),
                        ]).text)
                }
            }
        }
    }
}

func parseStepRange(_ text: String) throws -> ClosedRange<Int64> {
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { throw ValidationError("--steps wants A:B, got \"\(text)\"") }
    guard let low = parts[0].isEmpty ? Int64.min : Int64(parts[0]),
        let high = parts[1].isEmpty ? Int64.max : Int64(parts[1]),
        low <= high
    else { throw ValidationError("--steps wants A:B with integers A ≤ B, got \"\(text)\"") }
    return low...high
}
