import Runlog
import RunlogReliability
import RunlogWorkloads

// A writer process for tests: `RunlogTestWriter STORE RUN MODE [ARG]`.
//   hold           open RUN for writing, print "ready", and wait to be killed.
//   crash N        log the "loss" series without end, flushing every N points and printing
//                  "flushed <count>" after each flush returns; tests SIGKILL it at random moments.
//   compact        compact the run again and again (forced), printing "compacted" after each.
//   ledger FLUSH ACK [ROUND | live]
//                  the crash loop's writer (`LedgerWriter`): the ledger's series, a flush every
//                  FLUSH steps acknowledged in file ACK; with ROUND, close and compact every ROUND
//                  steps; with `live`, the run is compacted while it is written.
// `RunlogTestWriter STORE experiment NAME` creates or gets experiment NAME and prints its id.
#if canImport(Glibc)
    import Glibc
#endif

/// Writes a line to stdout at once (unbuffered), so the test sees it before a kill.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[2] == "experiment" {
    do {
        say(try TrackingStore.open(at: arguments[1]).experiment(named: arguments[3]).id)
        exit(0)
    } catch {
        FileHandleStderr.write("error: \(error)\n")
        exit(1)
    }
}
guard arguments.count >= 4, let runID = RunID(arguments[2]) else {
    FileHandleStderr.write("usage: RunlogTestWriter STORE RUN hold | crash N\n")
    exit(2)
}

if arguments.count >= 6, arguments[3] == "ledger", let flushEvery = Int(arguments[4]) {
    do {
        try LedgerWriter(
            storePath: arguments[1], run: runID, flushEvery: flushEvery, ackPath: arguments[5],
            roundSteps: arguments.count > 6 ? Int(arguments[6]) : nil,
            live: arguments.count > 6 && arguments[6] == "live"
        ).logUntilKilled()
    } catch {
        FileHandleStderr.write("error: \(error)\n")
        exit(1)
    }
}

enum FileHandleStderr {
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

do {
    var options = StoreOptions()
    options.durability = .never
    options.blockPoints = 512
    options.segmentSize = 64 << 10
    options.backgroundCompaction = false
    let store = try Store.open(at: arguments[1], options: options)
    if arguments[3] == "compact" {
        while true {
            let report = try store.compact(runID)
            say("\(report.outcome == .compacted ? "compacted" : "\(report)")")
        }
    }
    let writer = try store.runs().contains(runID) ? store.openWriter(runID) : store.createRun(runID)
    switch arguments[3] {
    case "hold":
        say("ready \(getpid())")
        while true { sleep(60) }
    case "crash":
        let every = Int(arguments.count > 4 ? arguments[4] : "1000") ?? 1000
        let loss = try writer.series("loss")
        var step = Int64(writer.index.series("loss")?.summary?.count ?? 0)
        while true {
            for _ in 0..<every {
                try writer.log(loss, step: step, timestamp: 1_700_000_000_000 + step, value: Double(step) * 0.5)
                step += 1
            }
            try writer.flush()
            say("flushed \(step)")
        }
    default:
        FileHandleStderr.write("unknown mode \(arguments[3])\n")
        exit(2)
    }
} catch {
    FileHandleStderr.write("error: \(error)\n")
    exit(1)
}
