import RunlogStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The writer process of the crash loop: logs the ledger's series at full speed into one run,
/// flushing every `flushEvery` steps, and after each flush returns records what it acknowledged
/// in a small file beside the store (`AckFile`). The harness kills it with SIGKILL at random.
package struct LedgerWriter {
    package var storePath: String
    package var run: RunID
    package var flushEvery: Int
    package var ackPath: String
    /// With churn, the writer closes the run every `roundSteps` steps and compacts it before
    /// opening it again, so that kills land in closing and in compaction too.
    package var roundSteps: Int?
    /// With live compaction, the store compacts the run while the writer writes it (the writer
    /// flushes often, so its small blocks call for it every few kilobytes): kills land in those too.
    package var live: Bool

    package init(
        storePath: String, run: RunID, flushEvery: Int, ackPath: String, roundSteps: Int? = nil, live: Bool = false
    ) {
        self.storePath = storePath
        self.run = run
        self.flushEvery = flushEvery
        self.ackPath = ackPath
        self.roundSteps = roundSteps
        self.live = live
    }

    package static func options(live: Bool = false) -> StoreOptions {
        var options = StoreOptions()
        options.durability = .never  // the crash loop kills processes; the kernel keeps their writes
        options.blockPoints = 1024
        options.segmentSize = 256 << 10
        options.backgroundCompaction = live
        options.liveCompactionBytes = 8 << 10
        options.logger = quietLogger
        return options
    }

    /// Runs until killed (or a store error, which is returned).
    package func logUntilKilled() throws -> Never {
        let ack = try AckFile(path: ackPath)
        let store = try Store.open(at: storePath, options: Self.options(live: live))
        while true {
            let writer = try store.runs().contains(run) ? store.openWriter(run) : store.createRun(run)
            let series = try Ledger.keys.map { try writer.series($0) }
            var next = Ledger.keys.map { Int64(writer.index.series($0)?.summary?.count ?? 0) }
            try ack.record("L", next)
            var step = next.min() ?? 0
            let last = roundSteps.map { step + Int64($0) } ?? Int64.max
            while step < last {
                for _ in 0..<flushEvery {
                    for k in series.indices where next[k] <= step {
                        try writer.log(
                            series[k], step: step, timestamp: Ledger.timestamp(step: step),
                            value: Ledger.value(series: k, step: step))
                        next[k] = step + 1
                    }
                    step += 1
                }
                try writer.flush()
                try ack.record("L", next)
            }
            try ack.record("S", next)
            try writer.close()
            try ack.record("C", next)
            try store.compact(run, force: true)
        }
    }
}

/// The acknowledgement file: one fixed-width line, rewritten in place with one `pwrite` after each
/// flush — `PHASE n0 n1 n2`, the steps of each series a completed flush has acknowledged.
package struct AckFile {
    package static let width = 96
    let fd: Int32

    init(path: String) throws {
        fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
    }

    func record(_ phase: String, _ counts: [Int64]) throws {
        var line = Array(([phase] + counts.map(String.init)).joined(separator: " ").utf8)
        line += Array(repeating: UInt8(ascii: " "), count: Self.width - 1 - line.count) + [UInt8(ascii: "\n")]
        guard pwrite(fd, line, line.count, 0) == line.count else {
            throw SystemError("pwrite", path: "ack file", errno: errno)
        }
    }

    /// The phase and counts last recorded at `path`, or nil when nothing was.
    package static func read(_ path: String) -> (phase: String, counts: [Int])? {
        guard let bytes = try? PosixFileSystem().open(path, writable: false, create: false) else { return nil }
        defer { try? bytes.close() }
        guard let data = try? bytes.read(count: width, at: 0), data.count == width else { return nil }
        let fields = String(decoding: data, as: UTF8.self).split { $0 == " " || $0 == "\n" }
        guard let phase = fields.first else { return nil }
        let counts = fields.dropFirst().compactMap { Int($0) }
        guard counts.count == Ledger.keys.count else { return nil }
        return (String(phase), counts)
    }
}
