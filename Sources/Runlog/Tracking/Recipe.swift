import Foundation
import RunlogStore

/// How `runlog run` started a run, kept as its input `runlog_run` (canonical JSON) so that
/// `runlog rerun` can start it again the same way: the command as argv, never a shell string,
/// and the options that are not the child's own doing.
public struct RunRecipe: Sendable, Hashable, Codable {
    public var command: [String]
    public var directory: String
    public var experiment: String
    public var params: [String: String]
    public var tags: [String: String]
    /// `--input NAME=PATH`, as given (relative paths are relative to `directory`).
    public var inputs: [String: String]
    /// The names `--env` added to the allow-list.
    public var environment: [String]
    public var systemMetricsSeconds: Double

    public init(
        command: [String], directory: String, experiment: String, params: [String: String] = [:],
        tags: [String: String] = [:], inputs: [String: String] = [:], environment: [String] = [],
        systemMetricsSeconds: Double = 10
    ) {
        self.command = command
        self.directory = directory
        self.experiment = experiment
        self.params = params
        self.tags = tags
        self.inputs = inputs
        self.environment = environment
        self.systemMetricsSeconds = systemMetricsSeconds
    }

    public static let inputName = "runlog_run"
    /// The recipe as its input records it: canonical JSON.
    public var recorded: String { Validation.canonicalJSON(self) }
    /// The tag `runlog rerun` puts on a rerun: the id of the run it reran.
    public static let rerunTag = "runlog.rerun_of"

    /// Whether `runlog rerun` can rerun `run` (it recorded a recipe, or a command line and directory).
    public static func canRerun(_ run: RunInfo) -> Bool {
        (try? of(run, experimentName: "")) != nil
    }

    /// The recipe a run was started with: `runlog run`'s own, else one rebuilt from what the
    /// Swift API records (command line and working directory). Throws, saying what is missing,
    /// for a run that recorded neither (an MLflow import, a run created over REST).
    public static func of(_ run: RunInfo, experimentName: String) throws(RunlogError) -> RunRecipe {
        if let text = run.inputs[inputName] {
            guard let recipe = try? JSONDecoder().decode(RunRecipe.self, from: Data(text.utf8)) else {
                throw RunlogError(.invalidArgument, "run \(run.id)'s recorded \(inputName) input is not a recipe")
            }
            return recipe
        }
        var missing: [String] = []
        let command = run.inputs["command_line"].flatMap(ShellWords.split)
        if run.inputs["command_line"] == nil {
            missing.append("command line")
        } else if command == nil {
            missing.append("a command line in shell words (it is \(run.inputs["command_line"]!))")
        }
        if run.inputs["working_directory"] == nil { missing.append("working directory") }
        guard let command, !command.isEmpty, let directory = run.inputs["working_directory"] else {
            throw RunlogError(
                .invalidArgument,
                "run \(run.id) cannot be rerun: it has no recorded \(missing.joined(separator: " and ")). "
                    + "Runs started by `runlog run` or by the Swift API record them; runs imported from "
                    + "MLflow or created over REST do not")
        }
        return RunRecipe(command: command, directory: directory, experiment: experimentName, params: run.params)
    }
}

/// Splits a command line in the form `EnvironmentInputs.shellQuoted` writes — bare words,
/// single-quoted words, `\'` for a quote between them — back into argv; nil for anything a
/// shell would read differently (an unclosed quote, `"`, `$`, globs, redirections, `;`).
enum ShellWords {
    static func split(_ line: String) -> [String]? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            switch character {
            case "'":
                inWord = true
                while true {
                    guard let next = characters.next() else { return nil }
                    if next == "'" { break }
                    word.append(next)
                }
            case "\\":
                guard let next = characters.next() else { return nil }
                word.append(next)
                inWord = true
            case " ":
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case "\"", "$", "`", "*", "?", "[", "<", ">", "|", ";", "&", "(", ")", "\n", "\t", "~", "#":
                return nil
            default:
                word.append(character)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }
}
