#if RUNLOG_WITHOUT_SERVER
    import ArgumentParser

    /// In a build without the server (`make demo` builds so, to be quick; the sanitizer passes do
    /// too), `server`, `ui`, `run` and `rerun` still parse, and say what to build instead of being
    /// unknown subcommands.
    protocol NeedsTheServer: ParsableCommand {
        var arguments: [String] { get }
    }

    extension NeedsTheServer {
        func run() throws {
            throw CLIError(Self.withoutServer(Self.configuration.commandName ?? "this command"))
        }

        static func withoutServer(_ name: String) -> String {
            "`runlog \(name)` needs the server, which this build of runlog leaves out (make demo builds it "
                + "so, to be quick): `swift build --product runlog` builds the whole CLI (about 3 minutes "
                + "more the first time), then run the command again"
        }
    }

    struct Server: NeedsTheServer {
        static let configuration = CommandConfiguration(
            commandName: "server", abstract: "The MLflow-compatible server and web UI (not in this build).",
            aliases: ["ui"])
        @Argument(parsing: .allUnrecognized) var arguments: [String] = []
    }

    struct RunProgram: NeedsTheServer {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Run a program as a run (not in this build).")
        @Argument(parsing: .allUnrecognized) var arguments: [String] = []
    }

    struct Rerun: NeedsTheServer {
        static let configuration = CommandConfiguration(
            commandName: "rerun", abstract: "Run a recorded run's program again (not in this build).")
        @Argument(parsing: .allUnrecognized) var arguments: [String] = []
    }
#endif
