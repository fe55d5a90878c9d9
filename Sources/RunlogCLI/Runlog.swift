import ArgumentParser
import Foundation
import Runlog

struct RunlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runlog",
        abstract: "Record, query and compare ML experiment metrics in a Runlog store.",
        discussion: """
            The store is --store PATH, else $RUNLOG_STORE, else ./runlog-store. Exit status: 0 on \
            success, 1 on an error (message on stderr), 2 on a usage error.
            """,
        subcommands: commands)
}

/// Every subcommand; `server` only in builds that have the server (not the sanitizer builds).
private let commands: [any ParsableCommand.Type] = {
    var commands: [any ParsableCommand.Type] = [
        Demo.self, Experiments.self, Runs.self, Show.self, Scan.self, Search.self, Compare.self, Tail.self,
        Ingest.self, Export.self, Import.self, Stats.self,
        Verify.self, Compact.self, GC.self,
    ]
    #if canImport(RunlogServer)
        commands += [Server.self, RunProgram.self, Rerun.self]
    #endif
    return commands
}()

/// Where the store is: `--store`, else `$RUNLOG_STORE`, else `./runlog-store`.
struct StoreOptionsGroup: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $RUNLOG_STORE, else ./runlog-store).")
    var store: String?

    var path: String {
        if let store { return store }
        if let value = ProcessInfo.processInfo.environment["RUNLOG_STORE"], !value.isEmpty { return value }
        return "runlog-store"
    }

    /// The store, which must exist unless `create` is set.
    func open(create: Bool = false) throws -> TrackingStore {
        if !create && !FileManager.default.fileExists(atPath: path + "/STORE") {
            throw CLIError("no Runlog store at \(path) (run `runlog demo` to make one, or pass --store)")
        }
        return try TrackingStore.open(at: path)
    }
}

struct FormatOption: ParsableArguments {
    @Option(help: "Output as a table, CSV, or JSON Lines (one object per row, MLflow's field names).")
    var format: OutputFormat = .table
}
