import ArgumentParser
import Foundation
import Runlog

struct RunlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runlog",
        abstract: "Record, query and compare ML experiment metrics in a Runlog store.",
        usage: "runlog [--store PATH] <subcommand> [options]",
        discussion: """
            The store is --store PATH (before or after the subcommand), else $RUNLOG_STORE, else \
            ./runlog-store. Exit status: 0 on success, 1 on an error (message on stderr), 2 on a \
            usage error.
            """,
        subcommands: commands)
}

/// Every subcommand. In a build without the server, `server`, `run` and `rerun` are the ones of
/// WithoutServer.swift, which say how to build them.
private let commands: [any ParsableCommand.Type] = [
    Demo.self, Experiments.self, Runs.self, Show.self, Scan.self, Search.self, Compare.self, Tail.self,
    Ingest.self, Export.self, Import.self, Stats.self,
    Verify.self, Compact.self, GC.self, Server.self, RunProgram.self, Rerun.self,
]

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
    @Option(
        help: "table, csv, or JSON Lines (json or jsonl: one object per row, MLflow's field names).")
    var format: OutputFormat = .table
}

/// `--allow-damaged`, and the warnings of every command that reads runs: a run whose log is
/// damaged (records or segments skipped or cut off) is named on stderr with each problem's file
/// and offset, and the command exits 1 after printing what it could read — unless allowed.
struct DamageOption: ParsableArguments {
    @Flag(
        name: .customLong("allow-damaged"),
        help: "Exit 0 with what is left of damaged runs (their damage is still reported on stderr).")
    var allowDamaged = false

    /// Warns of the damage of `runs` (and, for a listing, of runs that could not be read at all);
    /// returns whether there was any. The command goes on and ends with `finish(_:)`.
    func warn(_ runs: [RunInfo], store: TrackingStore, listing: Bool = false) -> Bool {
        var any = false
        var warned: Set<RunID> = []
        for run in runs where !run.damage.isEmpty && warned.insert(run.id).inserted {
            any = true
            for problem in run.damage {
                printWarning("run \(run.id) is damaged, its answer is incomplete: \(problem)")
            }
        }
        if listing {
            for (id, error) in store.unreadableRuns.sorted(by: { $0.key < $1.key }) {
                any = true
                printWarning("run \(id) could not be read and is left out: \(error)")
            }
        }
        return any
    }

    /// Exit 1 when there was damage, unless `--allow-damaged`.
    func finish(_ damaged: Bool) throws {
        if damaged && !allowDamaged {
            FileHandle.standardError.write(
                Data("runlog: exit 1, the answer is incomplete (--allow-damaged exits 0 with it)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// A warning on stderr, safe for a terminal whatever the data in it.
func printWarning(_ message: String) {
    FileHandle.standardError.write(
        Data("runlog: warning: \(TextSafety.forTerminal(message, keepingLines: true))\n".utf8))
}
