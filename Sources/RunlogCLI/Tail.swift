import ArgumentParser
import Foundation
import Runlog

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a live run: print new points as its writer flushes them, like tail -f.",
        discussion: """
            Starts with the last -n points of each metric (10 by default, `-n all` for the whole \
            history), then prints points as they come. Ends when the run finishes (FINISHED, FAILED \
            or KILLED), or on Ctrl-C.
            """)
    @OptionGroup var store: StoreOptionsGroup
    @OptionGroup var output: FormatOption
    @Argument(help: ArgumentHelp("The run: an id, a unique prefix, or EXPERIMENT/RUN_NAME.", valueName: "run"))
    var runReference: String
    @Argument(help: "Metrics to follow (default: all).") var keys: [String] = []
    @Option(help: "Seconds between looks at the run.") var interval: Double = 0.2
    @Option(
        name: [.customShort("n"), .customLong("lines")],
        help: ArgumentHelp("Start this many points back in each metric, or `all`.", valueName: "N"))
    var lines: PointCount = PointCount(argument: "10")!
    @OptionGroup var damage: DamageOption

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
    }

    func run() throws {
        let tracking = try self.store.open()
        let id = try resolveRun(runReference, in: tracking)
        let reader = try tracking.engine.openReader(id)
        let interrupted = SignalFlag.install()
        var followed: [String: Followed] = [:]
        var reported: Set<StoreProblem> = []
        // Written straight to the descriptor, so each look's lines leave at once (not buffered).
        if output.format == .csv { FileHandle.standardOutput.write(Data("key,step,timestamp,value\n".utf8)) }
        while true {
            try reader.refresh()
            for problem in reader.problems where problem.losesData && !reported.contains(problem) {
                reported.insert(problem)
                printWarning("run \(id) is damaged, what is followed is incomplete: \(problem)")
            }
            var text = ""
            var index = reader.index
            for key in index.keys where keys.isEmpty || keys.contains(key) {
                var attempts = 0
                while true {
                    do {
                        try follow(key, index, &followed, &text, reader)
                        break
                    } catch let error as StoreError where error.isMissingFile && attempts < 8 {
                        // A live compaction replaced the blocks (nothing was printed from them): read on.
                        attempts += 1
                        try reader.refresh()
                        index = reader.index
                    }
                }
            }
            if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
            let finished =
                index.records.reversed().lazy.compactMap { record -> RunStatus? in
                    if case .status(let status, _) = record { return status } else { return nil }
                }.first?.isTerminal ?? false
            if finished || interrupted.isSet { return try damage.finish(!reported.isEmpty) }
            usleep(UInt32(interval * 1_000_000))
        }
    }

    /// Adds to `text` the points of `key` not printed yet.
    private func follow(
        _ key: String, _ index: RunIndex, _ followed: inout [String: Followed], _ text: inout String,
        _ reader: RunReader
    ) throws {
        let blocks = index.series(key)?.blocks ?? []
        var seen = followed[key] ?? Followed()
        let points = blocks.reduce(0) { $0 + $1.summary.count }
        guard points > seen.points else { return }
        if followed[key] == nil, let last = lines.count, points > last {
            // The first look: only the last `lines` points, from the blocks that hold them.
            var first = blocks.count
            var held = 0
            while first > 0 && held < last {
                first -= 1
                held += blocks[first].summary.count
            }
            var skip = held - last
            try reader.scan(blocks: blocks[first...]) { chunk in
                for p in chunk.dropFirst(min(skip, chunk.count)) { text += line(key, p) + "\n" }
                skip = max(0, skip - chunk.count)
            }
        } else if seen.blocks <= blocks.count && (seen.blocks == 0 || blocks[seen.blocks - 1] == seen.lastBlock) {
            // The log only grew: the new blocks follow the ones printed.
            try reader.scan(blocks: blocks[seen.blocks...]) { chunk in
                for p in chunk { text += line(key, p) + "\n" }
            }
        } else {
            // A compaction rewrote the blocks (a run is compacted as it closes, and while it is
            // written when it flushes often): the points printed are the first ones of the
            // rewritten series.
            var skip = seen.points
            try reader.scan(key) { chunk in
                for p in chunk.dropFirst(min(skip, chunk.count)) { text += line(key, p) + "\n" }
                skip = max(0, skip - chunk.count)
            }
        }
        seen = Followed(blocks: blocks.count, lastBlock: blocks.last, points: points)
        followed[key] = seen
    }

    private func line(_ key: String, _ p: MetricPoint) -> String {
        switch output.format {
        case .table:
            "\(TextSafety.forTerminal(key))  step \(p.step)  \(formatTime(p.timestamp))  \(exactNumber(p.value))"
        case .csv: "\(DataTable.csvField(key)),\(p.step),\(p.timestamp),\(exactNumber(p.value))"
        case .json, .jsonl:
            JSON.object([
                ("key", .string(key)), ("value", .value(p.value)), ("timestamp", .integer(p.timestamp)),
                ("step", .integer(p.step)),
            ]).text
        }
    }
}

/// `-n`: a number of points, or `all`.
struct PointCount: ExpressibleByArgument {
    /// Nil for all of them.
    let count: Int?

    init?(argument: String) {
        if argument == "all" {
            count = nil
        } else if let number = Int(argument), number >= 0 {
            count = number
        } else {
            return nil
        }
    }

    var defaultValueDescription: String { count.map(String.init) ?? "all" }
}

/// What `tail` printed of a series: how many blocks, the last of them, and how many points.
private struct Followed {
    var blocks = 0
    var lastBlock: BlockDescriptor?
    var points = 0
}
