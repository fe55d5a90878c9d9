import ArgumentParser
import Runlog

@main
struct RunlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runlog",
        abstract: "Record, scan and check ML experiment metrics in a Runlog store.",
        subcommands: [Demo.self, Runs.self, Scan.self, Verify.self, Compact.self, GC.self])
}

/// Where the store is: `--store`, else `$RUNLOG_STORE`, else `./runlog-store`.
struct StoreOptionsGroup: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $RUNLOG_STORE, else ./runlog-store).")
    var store: String?

    var path: String {
        store ?? ProcessInfoEnvironment.value("RUNLOG_STORE") ?? "runlog-store"
    }

    func open(create: Bool = false) throws -> Store {
        try Store.open(at: path, create: create)
    }
}

enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}

/// Resolves a run given as a full id or a unique prefix of one.
func resolveRun(_ text: String, in store: Store) throws -> RunID {
    if let id = RunID(text) { return id }
    let lowered = text.lowercased()
    let matches = try store.runs().filter { $0.description.hasPrefix(lowered) }
    guard !lowered.isEmpty, matches.count == 1 else {
        throw ValidationError(
            matches.isEmpty
                ? "no run matches \"\(text)\"" : "\"\(text)\" matches \(matches.count) runs; give more digits")
    }
    return matches[0]
}

#if canImport(Glibc)
    import Glibc
#endif
