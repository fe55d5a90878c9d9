import ArgumentParser
import Foundation
import Runlog

/// `runlog run [options] -- COMMAND ARGS…`
struct RunProgram: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program as a run: record what reproduces it, let it log into the run, keep its output.",
        discussion: """
            Starts a RUNNING run and records: the command (argv, exactly as given), the working \
            directory, the git commit, branch and dirty flag (when dirty, the diff of tracked files as \
            artifact runlog/git.diff), host, OS, CPU, Swift version, allow-listed environment variables \
            (CUDA_VISIBLE_DEVICES, PYTHONHASHSEED, OMP_NUM_THREADS, … and each --env; a variable whose \
            name holds TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL or KEY is recorded as present, its \
            value never), for a Python interpreter its version and `pip freeze` (artifact \
            runlog/pip-freeze.txt), and each --input's SHA-256. \
            The program gets RUNLOG_STORE and RUNLOG_RUN_ID (a Swift program continues the run with \
            TrackingStore.attachedRun()), and MLFLOW_TRACKING_URI (a loopback server this command \
            starts, unless --tracking-uri), MLFLOW_RUN_ID and MLFLOW_EXPERIMENT_ID, so the stock mlflow \
            client's mlflow.start_run() logs into this run; PYTHONUNBUFFERED=1 unless set. Its stdout \
            and stderr go to the terminal and into the run as runlog/stdout.txt and runlog/stderr.txt. \
            Exit 0 records FINISHED, another status FAILED, a signal KILLED; SIGINT and SIGTERM sent \
            to this command reach the program; this command exits with the program's status (128 + \
            the signal when one killed it). `runlog rerun RUN` runs it again.
            """)

    @OptionGroup var store: StoreOptionsGroup

    @Option(help: "The experiment of the run (created when missing).")
    var experiment = "Default"

    @Option(help: "The run's name (default: a generated one).")
    var name: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A param of the run (repeatable).", valueName: "key=value"))
    var params: [String] = []

    @Option(name: .customLong("tag"), help: ArgumentHelp("A tag of the run (repeatable).", valueName: "key=value"))
    var tags: [String] = []

    @Option(
        name: .customLong("input"),
        help: ArgumentHelp(
            "A file or directory the program reads, recorded with its SHA-256 (repeatable).", valueName: "name=path"))
    var inputs: [String] = []

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp("Record one more environment variable (repeatable).", valueName: "NAME"))
    var environmentNames: [String] = []

    @Option(
        help: """
            Seconds between system-metrics samples (0: none). GPUs are sampled through NVML \
            (libnvidia-ml.so.1, or the file RUNLOG_NVML_LIBRARY names) when it loads.
            """)
    var systemMetrics: Double = 10

    @Option(help: "An MLflow tracking URI for the program instead of the loopback server this command starts.")
    var trackingURI: String?

    @Argument(parsing: .postTerminator, help: "The program and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the program to run after --: runlog run -- COMMAND") }
        guard systemMetrics >= 0, systemMetrics.isFinite else {
            throw ValidationError("--system-metrics must be 0 or more seconds")
        }
        if systemMetrics > 0 && systemMetrics < 0.1 {
            throw ValidationError("--system-metrics must be at least 0.1 seconds (or 0)")
        }
        for name in environmentNames where name.isEmpty || name.contains("=") {
            throw ValidationError("--env takes a variable's name, not \"\(name)\"")
        }
    }

    func run() throws {
        let directory = FileManager.default.currentDirectoryPath
        let recorded = try pairs(inputs, "--input").mapValues {
            URL(fileURLWithPath: absolutePath($0)).standardizedFileURL.path
        }
        let recipe = RunRecipe(
            command: command, directory: directory, experiment: experiment,
            params: try pairs(params, "--param"), tags: try pairs(tags, "--tag"), inputs: recorded,
            environment: environmentNames, systemMetricsSeconds: systemMetrics)
        let store = try self.store.open(create: true)
        let launcher = Launcher(
            store: store, recipe: recipe, name: name, environment: ProcessInfo.processInfo.environment,
            trackingURI: trackingURI)
        let outcome = try launcher.launch()
        store.engine.close()
        throw ExitCode(outcome.status)
    }
}
