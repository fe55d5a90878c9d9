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
    var parsed: (any ParsableCommand.Type)?
    do {
        var command = try RunlogCommand.parseAsRoot(
            movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
        parsed = type(of: command)
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
        // A usage error found while running (a filter's syntax, say) comes with the usage of the
        // subcommand that was running; ArgumentParser would show the root's.
        if let parsed, parsed != RunlogCommand.self, error is ValidationError {
            let usage = RunlogCommand.usageString(for: parsed)
            let name = commandPath(to: parsed, from: RunlogCommand.self)?.joined(separator: " ") ?? parsed._commandName
            FileHandle.standardError.write(
                Data(
                    ("Error: \(RunlogCommand.message(for: error))\nUsage: \(usage)\n"
                        + "  See 'runlog \(name) --help' for more information.\n").utf8))
        } else {
            FileHandle.standardError.write(Data((RunlogCommand.fullMessage(for: error) + "\n").utf8))
        }
        exit(2)
    }
}

/// The names from the root's subcommand down to `target` (`["runs", "delete"]`).
private func commandPath(to target: any ParsableCommand.Type, from command: any ParsableCommand.Type) -> [String]? {
    for sub in command.configuration.subcommands {
        if sub == target { return [sub._commandName] }
        if let below = commandPath(to: target, from: sub) { return [sub._commandName] + below }
    }
    return nil
}

/// `--store` is global in `--help`: given before the subcommand (`runlog --store S runs`), it
/// moves to just after the subcommand's name (and a nested one's: `runs delete`), where
/// ArgumentParser looks for it. Everything else stays where it was.
func movingGlobalOptions(_ arguments: [String]) -> [String] {
    var moved: [String] = []
    var rest = arguments[...]
    while let first = rest.first {
        if first == "--store", rest.count >= 2 {
            moved += rest.prefix(2)
            rest = rest.dropFirst(2)
        } else if first.hasPrefix("--store=") {
            moved.append(first)
            rest = rest.dropFirst()
        } else {
            break
        }
    }
    guard !moved.isEmpty else { return arguments }
    var path: [String] = []
    var command: any ParsableCommand.Type = RunlogCommand.self
    while let name = rest.first,
        let sub = command.configuration.subcommands.first(where: { $0._commandName == name })
    {
        path.append(name)
        rest = rest.dropFirst()
        command = sub
    }
    // No subcommand named (`runlog --store S`, `runlog --store S --help`): the root's help.
    guard !path.isEmpty else { return Array(rest) }
    return path + moved + rest
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
        throw CLIError("\"\(text)\" names \(named.count) runs; use a run id:" + candidates(named, store))
    }
    let prefix = text.lowercased()
    let matches = prefix.isEmpty ? [] : runs.filter { $0.id.description.hasPrefix(prefix) }
    guard matches.count == 1 else {
        throw CLIError(
            matches.isEmpty
                ? "no run matches \"\(text)\" (give a run id, a unique prefix of one, or EXPERIMENT/RUN_NAME)"
                : "\"\(text)\" matches \(matches.count) runs; give more digits:" + candidates(matches, store))
    }
    return matches[0].id
}

/// The runs an ambiguous reference matched, as git lists ambiguous objects: one line each with the
/// id, EXPERIMENT/NAME and start time, oldest first, the first 10 of them.
private func candidates(_ runs: [RunInfo], _ store: TrackingStore) -> String {
    let names = Dictionary(
        ((try? store.experiments(includeDeleted: true)) ?? []).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }
    )
    let sorted = runs.sorted { ($0.startTime ?? 0, $0.id.description) < ($1.startTime ?? 0, $1.id.description) }
    var lines = sorted.prefix(10).map { run in
        "\n  \(run.id)  \(names[run.experimentID] ?? run.experimentID)/\(run.name)  started \(formatTime(run.startTime))"
            + (run.lifecycle == .deleted ? "  (deleted)" : "")
    }
    if sorted.count > 10 { lines.append("\n  … and \(sorted.count - 10) more") }
    return lines.joined()
}
