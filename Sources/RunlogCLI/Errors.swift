import ArgumentParser
import Foundation
import Runlog

/// An error a command reports: printed on stderr, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the command line: exit 0 on success, 1 on an error (its message and cause on stderr), 2
/// on a usage error (bad arguments or options, with the usage).
func runMain() -> Never {
    do {
        var command = try RunlogCommand.parseAsRoot()
        try command.run()
        exit(0)
    } catch let error as CLIError {
        fail(error.description)
    } catch let error as RunlogError {
        fail(error.description)
    } catch let error as StoreError {
        fail(error.description)
    } catch let code as ExitCode {
        exit(code.rawValue)
    } catch {
        // ArgumentParser's own: help (exit 0), or a usage error — bad arguments, failed validation.
        if RunlogCommand.exitCode(for: error) == .success { RunlogCommand.exit(withError: error) }
        FileHandle.standardError.write(Data((RunlogCommand.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
}

private func fail(_ message: String) -> Never {
    // Messages quote names, keys and values from data: escaped, so they cannot drive the terminal.
    FileHandle.standardError.write(Data("error: \(TextSafety.forTerminal(message, keepingLines: true))\n".utf8))
    exit(1)
}

/// Resolves a run given as a full id, a unique prefix of one (as git does), or EXPERIMENT/RUN_NAME.
func resolveRun(_ text: String, in store: TrackingStore) throws -> RunID {
    if let id = RunID(text) { return id }
    let runs = store.runs(includeDeleted: true)
    // Names may hold slashes themselves: every split of EXPERIMENT/RUN_NAME is tried.
    var named: [RunInfo] = []
    for slash in text.indices where text[slash] == "/" {
        guard let experiment = try experiment(named: String(text[..<slash]), in: store) else { continue }
        let name = String(text[text.index(after: slash)...])
        named += runs.filter { $0.experimentID == experiment.id && $0.name == name }
    }
    if named.count == 1 { return named[0].id }
    if named.count > 1 {
        throw CLIError("\"\(text)\" names \(named.count) runs; use a run id")
    }
    let prefix = text.lowercased()
    let matches = runs.filter { $0.id.description.hasPrefix(prefix) }
    guard !prefix.isEmpty, matches.count == 1 else {
        throw CLIError(
            matches.isEmpty
                ? "no run matches \"\(text)\" (give a run id, a unique prefix of one, or EXPERIMENT/RUN_NAME)"
                : "\"\(text)\" matches \(matches.count) runs; give more digits")
    }
    return matches[0].id
}
