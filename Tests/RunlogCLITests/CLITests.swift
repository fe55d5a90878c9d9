import Foundation
import RunlogReliability
import Testing

/// Runs `runlog` with `arguments` (and `input` on stdin, `environment` added to this process's)
/// in `directory`; returns stdout, stderr and the exit status.
func runlog(
    _ arguments: [String], in directory: String, input: String? = nil, environment added: [String: String] = [:]
) throws -> (out: String, err: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: builtProduct("runlog"))
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "RUNLOG_STORE")
    environment.merge(added) { $1 }
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    let stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self), process.terminationStatus)
}

/// A working directory with the MLflow fixture imported into ./runlog-store.
final class Workspace {
    let path = NSTemporaryDirectory() + "runlog-cli-\(UUID().uuidString)"
    static let fixture: String = {
        let file = "\(#filePath)"
        return String(file[..<file.range(of: "/Tests/")!.lowerBound]) + "/Fixtures/mlruns"
    }()

    init(importing: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if importing {
            let result = try runlog(["import", "mlflow", Workspace.fixture], in: path)
            precondition(result.status == 0, result.err)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct CLITests {
    @Test func importingTwiceAddsNothing() throws {
        let workspace = try Workspace(importing: false)
        let first = try runlog(["import", "mlflow", Workspace.fixture], in: workspace.path)
        #expect(first.out == "imported 3 runs (11 points, 2 artifacts) from 2 experiments; 0 runs already present\n")
        #expect(first.status == 0)
        let second = try runlog(["import", "mlflow", Workspace.fixture], in: workspace.path)
        #expect(second.out == "imported 0 runs (0 points, 0 artifacts) from 2 experiments; 3 runs already present\n")
    }

    @Test func importKeepsExperimentIDsAndArtifacts() throws {
        let workspace = try Workspace()
        let experiments = try runlog(["experiments", "--all", "--format", "csv"], in: workspace.path).out
        #expect(experiments.contains("\n1,fixture,2,"))
        #expect(experiments.contains("\n2,old,1,"))
        let show = try runlog(["show", "fixture/adam-run", "--format", "csv"], in: workspace.path).out
        #expect(
            show.contains(
                "artifact,model/config.json,size=14 sha256=09d343c37de0bba143b7ff45f82c0ab9308531dcc78b56b8eb40c5938c4be418"
            ))
        #expect(
            show.contains(
                "artifact,notes.txt,size=14 sha256=21735e0e5837e553132d102a7a10fccec80ce385141243c55a5052bacb7d3722\n"))
        let copy = workspace.path + "/runlog-store/artifacts/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1/notes.txt"
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "adam, lr 0.01\n")
        #expect(try runlog(["verify"], in: workspace.path).status == 0)
    }

    /// A hostile or unusual mlruns: links out of the tree are not followed, a bad line costs its
    /// run only, an id the store already uses is reported, and mlflow-artifacts: URIs resolve
    /// under --artifacts-root.
    @Test func importRefusesLinksAndReportsWhatItSkips() throws {
        let workspace = try Workspace(importing: false)
        let mlruns = workspace.path + "/mlruns"
        let files = FileManager.default
        try files.copyItem(atPath: Workspace.fixture, toPath: mlruns)
        let adam = mlruns + "/1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
        try files.createSymbolicLink(atPath: adam + "/artifacts/secret", withDestinationPath: "/etc/hostname")
        try "1700000000000 0.5 notastep\n".write(
            toFile: mlruns + "/1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2/metrics/loss", atomically: true, encoding: .utf8)
        // The sgd run's artifacts live where an MLflow server with --artifacts-destination puts them.
        let served = workspace.path + "/mlartifacts"
        try files.createDirectory(
            atPath: served + "/2/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1/artifacts", withIntermediateDirectories: true)
        try "weights".write(
            toFile: served + "/2/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1/artifacts/w.bin", atomically: true, encoding: .utf8)
        let trashed = mlruns + "/.trash/2/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1/meta.yaml"
        var meta = try String(contentsOfFile: trashed, encoding: .utf8)
        meta = meta.split(separator: "\n").filter { !$0.hasPrefix("artifact_uri") }.joined(separator: "\n")
        try (meta + "\nartifact_uri: mlflow-artifacts:/2/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1/artifacts\n").write(
            toFile: trashed, atomically: true, encoding: .utf8)
        // Experiment id 2 is taken here, by another name, before the import.
        let earlier = workspace.path + "/earlier"
        try files.createDirectory(atPath: earlier + "/2", withIntermediateDirectories: true)
        try "experiment_id: '2'\nlifecycle_stage: active\nname: taken\n".write(
            toFile: earlier + "/2/meta.yaml", atomically: true, encoding: .utf8)
        #expect(try runlog(["import", "mlflow", earlier], in: workspace.path).status == 0)

        let result = try runlog(
            ["import", "mlflow", mlruns, "--artifacts-root", served], in: workspace.path)
        #expect(result.status == 1)
        #expect(
            result.out
                == "imported 2 runs (8 points, 3 artifacts) from 2 experiments; 0 runs already present; 1 runs could not be read\n"
        )
        #expect(result.err.contains("/artifacts/secret: a symbolic link, not imported"))
        #expect(
            result.err.contains(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2: metrics/loss line 1: step \"notastep\" is not a 64-bit integer"))
        #expect(
            !files.fileExists(
                atPath: workspace.path + "/runlog-store/artifacts/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1/secret"))
        let show = try runlog(["show", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", "--format", "csv"], in: workspace.path)
        #expect(show.out.contains("artifact,w.bin,size=7 sha256="))
        #expect(result.err.contains("experiment \"old\" (MLflow id \"2\") is experiment "))
        let listed = try runlog(["experiments", "--all", "--format", "csv"], in: workspace.path).out
        #expect(listed.contains("\n1,fixture,1,"))
        #expect(listed.contains("\n2,taken,0,"))
    }

    @Test func runsTablesAndCSV() throws {
        let workspace = try Workspace()
        #expect(
            try runlog(["runs"], in: workspace.path).out == """
                run           name      status    duration  lr     optimizer  loss  val/loss
                aaaaaaaaaaaa  sgd-run   FAILED    1.0m      0.1    sgd        1.5   -
                aaaaaaaaaaaa  adam-run  FINISHED  1.0m      0.001  adam       0.25  0.75

                """)
        #expect(
            try runlog(["runs", "--all", "--format", "csv", "--columns", "lr,loss"], in: workspace.path).out == """
                run_id,run_name,status,start_time,end_time,duration,params.lr,metrics.loss
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2,sgd-run,FAILED,1700000030000,1700000090000,60.0,0.1,1.5
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,adam-run,FINISHED,1700000000000,1700000060000,60.0,0.001,0.25
                bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1,ancient,FINISHED,1600000000000,1600000010000,10.0,,

                """)
        #expect(
            try runlog(
                [
                    "search", "params.optimizer = 'adam' or metrics.loss.max > 2.4", "--format", "csv", "--columns",
                    "lr",
                ], in: workspace.path
            ).out
                == """
                run_id,run_name,status,start_time,end_time,duration,params.lr
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2,sgd-run,FAILED,1700000030000,1700000090000,60.0,0.1
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,adam-run,FINISHED,1700000000000,1700000060000,60.0,0.001

                """, "sgd-run's loss reached Infinity, above 2.4")
        #expect(
            try runlog(
                [
                    "search", "params.optimizer = 'adam' and metrics.loss.max > 2.4", "--format", "csv", "--columns",
                    "lr",
                ], in: workspace.path
            ).out
                == """
                run_id,run_name,status,start_time,end_time,duration,params.lr
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,adam-run,FINISHED,1700000000000,1700000060000,60.0,0.001

                """)
    }

    @Test func scanFormatsKeepEveryValueExact() throws {
        let workspace = try Workspace()
        #expect(
            try runlog(["scan", "fixture/sgd-run", "loss", "--format", "json"], in: workspace.path).out == """
                {"key": "loss", "value": 2.0, "timestamp": 1700000031000, "step": 0}
                {"key": "loss", "value": "Infinity", "timestamp": 1700000032000, "step": 1}
                {"key": "loss", "value": 1.5, "timestamp": 1700000033000, "step": 2}

                """)
        #expect(
            try runlog(
                ["scan", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "loss", "--format", "csv", "--steps", "1:3"],
                in: workspace.path
            ).out == """
                step,timestamp,value
                1,1700000002000,1.25
                2,1700000003000,NaN
                3,1700000004000,0.5

                """)
        // NaN in JSON is the string "NaN", never a bare NaN (which no JSON reader takes).
        #expect(
            try runlog(
                ["scan", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "loss", "--format", "json", "--steps", "2:2"],
                in: workspace.path
            ).out == "{\"key\": \"loss\", \"value\": \"NaN\", \"timestamp\": 1700000003000, \"step\": 2}\n")
        #expect(
            try runlog(["scan", "fixture/adam-run", "loss", "--buckets", "2"], in: workspace.path).out == """
                start  end  count  min   max  mean   first  last
                0      2    3      1.25  2.5  1.875  2.5    NaN
                3      4    2      0.25  0.5  0.375  0.5    0.25

                """)
    }

    @Test func exportStreamsEveryPoint() throws {
        let workspace = try Workspace()
        #expect(
            try runlog(["export", "fixture/adam-run"], in: workspace.path).out == """
                run_id,key,step,timestamp,value
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,loss,0,1700000001000,2.5
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,loss,1,1700000002000,1.25
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,loss,2,1700000003000,NaN
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,loss,3,1700000004000,0.5
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,loss,4,1700000005000,0.25
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,val/loss,0,1700000001500,3.0
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1,val/loss,3,1700000004500,0.75

                """)
    }

    @Test func ingestReportsBadLinesAndKeepsTheRest() throws {
        let workspace = try Workspace(importing: false)
        let result = try runlog(
            ["ingest", "--experiment", "piped", "--run-name", "p", "--param", "lr=0.5"], in: workspace.path,
            input: "key,step,value,timestamp\nloss,1,0.5,1000\nnot a line\nloss,x,1,2\nloss,2,NaN,2000\n")
        #expect(result.status == 0)
        #expect(result.err.contains("line 3: expected key,step,value[,timestamp], got 1 fields\n"))
        #expect(result.err.contains("line 4: step \"x\" is not an integer\n"))
        #expect(result.err.contains(": 2 points, 2 bad lines skipped\n"))
        #expect(
            try runlog(["scan", "piped/p", "loss", "--format", "csv"], in: workspace.path).out
                == "step,timestamp,value\n1,1000,0.5\n2,2000,NaN\n")
        let json = try runlog(
            ["ingest", "--experiment", "piped", "--run-name", "j"], in: workspace.path,
            input:
                "{\"key\": \"acc\", \"value\": \"-Infinity\", \"step\": 3, \"timestamp\": 7}\n{\"key\": \"acc\", \"value\": 0.25}\n"
        )
        #expect(json.status == 0)
        let points = try runlog(["scan", "piped/j", "acc", "--format", "csv"], in: workspace.path).out.split(
            separator: "\n")
        #expect(
            points.count == 3 && points[1].hasPrefix("0,") && points[1].hasSuffix(",0.25")
                && points[2] == "3,7,-Infinity")
        let strict = try runlog(
            ["ingest", "--experiment", "piped", "--strict"], in: workspace.path, input: "loss,1,0.5\nbad\n")
        #expect(strict.status == 1)
    }

    @Test func ingestReadsNumbersAsTheREADMESaysAndSkipsUnknownMembers() throws {
        let workspace = try Workspace(importing: false)
        let csv = try runlog(
            ["ingest", "--experiment", "n", "--run-name", "csv"], in: workspace.path,
            input: "loss,0,0x10\nloss,1,abc\nloss,2, 1\nloss,3,1e3\nloss,4,-Infinity\nloss,5,0X1p4\n")
        #expect(csv.err.contains("line 1: value \"0x10\" is not a number"), "\(csv.err)")
        #expect(csv.err.contains("line 2: value \"abc\" is not a number"))
        #expect(csv.err.contains("line 3: value \" 1\" is not a number"))
        #expect(csv.err.contains("line 6: value \"0X1p4\" is not a number"))
        #expect(
            try runlog(["scan", "n/csv", "loss", "--format", "csv"], in: workspace.path).out.split(separator: "\n")
                .dropFirst().map { $0.split(separator: ",")[0] + "=" + $0.split(separator: ",")[2] }
                == ["3=1000.0", "4=-Infinity"])
        let json = try runlog(
            ["ingest", "--experiment", "n", "--run-name", "json"], in: workspace.path,
            input: """
                {"key": "loss", "value": 1, "tags": ["a", {"b": [2, 3]}], "meta": {}, "list": [], "step": 7}
                {"key": "loss", "value": 0x10, "step": 8}
                {"key": "loss", "value": 2, "deep": \(String(repeating: "[", count: 100))\(String(repeating: "]", count: 100))}

                """)
        #expect(json.err.contains("line 2: "), "\(json.err)")
        #expect(json.err.contains("line 3: arrays and objects nested deeper than 64"), "\(json.err)")
        #expect(json.err.contains(": 1 points, 2 bad lines skipped"), "\(json.err)")
        #expect(
            try runlog(["scan", "n/json", "loss", "--format", "csv"], in: workspace.path).out.hasSuffix(",1.0\n"))
    }

    @Test func ingestBoundsTheKeysOfARun() throws {
        let workspace = try Workspace(importing: false)
        let result = try runlog(
            ["ingest", "--experiment", "k", "--run-name", "r", "--max-keys", "3"], in: workspace.path,
            input: "a,0,1\nb,0,1\nc,0,1\nd,0,1\na,1,2\ne,0,1\n")
        #expect(result.status == 0)
        #expect(result.err.contains("line 4: the run has 3 distinct keys already (--max-keys); key not logged"))
        #expect(result.err.contains("line 6: the run has 3 distinct keys already"))
        #expect(result.err.contains(": 4 points, 2 bad lines skipped"), "\(result.err)")
        #expect(
            try runlog(["ingest", "--experiment", "k", "--max-keys", "0"], in: workspace.path, input: "").status == 2)
    }

    @Test func errorsAndUsageErrorsHaveTheirExitCodes() throws {
        let workspace = try Workspace()
        let syntax = try runlog(["search", "metrics.loss <"], in: workspace.path)
        #expect(syntax.status == 2)
        #expect(
            syntax.err == """
                Error: syntax error at column 15: expected a value (a number or a quoted string), found end of input
                  metrics.loss <
                                ^
                Usage: runlog search [--store <store>] [--format <format>] <filter> [--order-by <order-by> ...] [--limit <limit>] [--columns <columns>] [--all] [--allow-damaged]
                  See 'runlog search --help' for more information.

                """)
        let typeError = try runlog(["runs", "--filter", "params.lr < '1'"], in: workspace.path)
        #expect(typeError.status == 2 && typeError.err.contains("'<' does not apply to params.lr, a string"))
        let missing = try runlog(["show", "nope"], in: workspace.path)
        #expect(missing.status == 1)
        #expect(
            missing.err
                == "error: no run matches \"nope\" (give a run id, a unique prefix of one, or EXPERIMENT/RUN_NAME)\n")
        let ambiguous = try runlog(["show", "aaaa"], in: workspace.path)
        #expect(ambiguous.status == 1)
        #expect(
            ambiguous.err == """
                error: "aaaa" matches 2 runs; give more digits:
                  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1  fixture/adam-run  started 2023-11-14 22:13:20
                  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2  fixture/sgd-run  started 2023-11-14 22:13:50

                """)
        #expect(try runlog(["bogus"], in: workspace.path).status == 2)
        #expect(try runlog(["runs", "--limit", "0"], in: workspace.path).status == 2)
        let noStore = try runlog(["runs", "--store", "missing"], in: workspace.path)
        #expect(noStore.status == 1 && noStore.err.hasPrefix("error: no Runlog store at missing"))
    }

    @Test func hostileInputGetsClearErrorsAndStaysInTheStore() throws {
        let workspace = try Workspace(importing: false)
        let csv = try runlog(
            ["ingest", "--experiment", "../../out", "--run-name", "../r"], in: workspace.path,
            input: """
                key,step,value,timestamp
                loss,-9223372036854775808,1,1
                loss,9223372036854775807,2,2
                loss,0,1e999,3
                ../x,2,1,4
                ,3,1,5
                loss,9223372036854775808,1,6
                nul\u{0}key,4,1,7
                \(String(repeating: "k", count: 300)),5,1,8
                loss,1,-inf,9
                loss,4,nan,10

                """)
        #expect(csv.status == 0)
        let expected = [
            "line 4: value \"1e999\" is beyond the range of a double; write Infinity for infinity",
            "line 5: metric key \"../x\" has a \"..\" path segment",
            "line 6: metric key is empty",
            "line 7: step \"9223372036854775808\" is not an integer",
            "line 8: metric key \"nulU+0key\" contains U+0; keys may hold letters, digits and _ - . / : space",
            "line 9: metric key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…\" is 300 characters; the limit is 250",
        ]
        #expect(Array(csv.err.split(separator: "\n").prefix(expected.count)) == expected.map { Substring($0) })
        #expect(csv.err.hasSuffix(": 4 points, 6 bad lines skipped\n"))
        // Names with slashes and dots are names: found again as EXPERIMENT/RUN_NAME, no path made of them.
        #expect(
            try runlog(["scan", "../../out/../r", "loss", "--format", "csv"], in: workspace.path).out == """
                step,timestamp,value
                -9223372036854775808,1,1.0
                1,9,-Infinity
                4,10,NaN
                9223372036854775807,2,2.0

                """)
        let json = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "j"], in: workspace.path,
            input: """
                {"key": "t", "value": 1, "step": 9223372036854775807, "timestamp": 1700000000000000001}
                {"key": "t", "value": 1e400}
                {"key": "t", "value": 1, "step": 1.5}

                """)
        #expect(json.err.contains("line 2: value \"1e400\" is beyond the range of a double"))
        #expect(json.err.contains("line 3: step 1.5 is not an integer in range"))
        #expect(
            try runlog(["scan", "e/j", "t", "--format", "csv"], in: workspace.path).out
                == "step,timestamp,value\n9223372036854775807,1700000000000000001,1.0\n")
        let tooLong = try runlog(
            ["ingest", "--experiment", "e", "--param", "lr=" + String(repeating: "x", count: 7000)], in: workspace.path,
            input: "")
        #expect(tooLong.status == 1)
        #expect(tooLong.err == "error: param \"lr\" has a value of 7000 characters; the limit is 6000\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path) == ["runlog-store"])
        // A store from a newer Runlog is refused by name, and left as it was.
        let marker = workspace.path + "/runlog-store/STORE"
        try "runlog store format 2\n".write(toFile: marker, atomically: true, encoding: .utf8)
        let newer = try runlog(["runs"], in: workspace.path)
        #expect(newer.status == 1)
        #expect(newer.err.contains("has format 2; this build reads formats up to 1"))
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "runlog store format 2\n")
    }

    // Found by the corruption campaign: one unreadable experiment file made the whole store refuse
    // to open in the tracking layer — `runs` and even `verify` failed.
    @Test func aDamagedExperimentFileCostsOnlyItsExperiment() throws {
        let workspace = try Workspace()
        let experiments = workspace.path + "/runlog-store/experiments"
        let damaged = try FileManager.default.contentsOfDirectory(atPath: experiments).filter { $0 != "names" }
            .map { experiments + "/" + $0 + "/experiment.json" }
            .first { try String(contentsOfFile: $0, encoding: .utf8).contains("\"fixture\"") }!
        try "{\"name\": 1".write(toFile: damaged, atomically: false, encoding: .utf8)
        let runs = try runlog(["runs", "--all", "--format", "csv", "--columns", "lr"], in: workspace.path)
        #expect(runs.status == 0)
        #expect(runs.out.split(separator: "\n").count == 4)
        let list = try runlog(["experiments"], in: workspace.path)
        #expect(list.status == 0)
        #expect(list.err.hasPrefix("runlog: warning: runlog-store/experiments/"))
        #expect(list.err.contains("is not a valid experiment file"))
        let verify = try runlog(["verify"], in: workspace.path)
        #expect(verify.status == 1)
        #expect(verify.out.contains("error: runlog-store/experiments/"))
    }

    @Test func compareMarksDifferencesAndDrawsAChart() throws {
        let workspace = try Workspace()
        let table = try runlog(["compare", "fixture/adam-run", "fixture/sgd-run"], in: workspace.path)
        #expect(
            table.out == """
                params (* differs)
                param        adam-run  sgd-run
                * lr         0.001     0.1
                * optimizer  adam      sgd

                metrics (last, min … max)
                metric    adam-run           sgd-run
                loss      0.25 (0.25 … 2.5)  1.5 (1.5 … Infinity)
                val/loss  0.75 (0.75 … 3)    -

                """)
        let chart = try runlog(
            ["compare", "fixture/adam-run", "fixture/sgd-run", "--metric", "loss", "--chart"], in: workspace.path)
        #expect(chart.status == 0)
        #expect(chart.out.contains("loss by step\n"))
        #expect(chart.out.contains("legend: a ⣿ adam-run   b ⣿ sgd-run"))
        #expect(chart.out.contains("\n2.5 ┤⠑⢄") && chart.out.contains("\n  0 ┤"), "axis labels: round ticks")
        #expect(
            chart.out.contains("\n     0                 1                 2                 3                 4\n"),
            "steps on the x axis")
        #expect(chart.out.hasSuffix("\nnot drawn: 1 NaN, 1 ±Infinity\n"), "what is not drawn is counted")
        let csv = try runlog(
            ["compare", "fixture/adam-run", "fixture/sgd-run", "--metric", "loss", "--format", "csv"],
            in: workspace.path)
        #expect(
            csv.out == """
                key,step,adam-run,sgd-run
                loss,0,2.5,2.0
                loss,1,1.25,Infinity
                loss,2,NaN,1.5
                loss,3,0.5,
                loss,4,0.25,

                """)
    }

    @Test func showPrintsEverySectionAndFormats() throws {
        let workspace = try Workspace()
        let json = try runlog(["show", "fixture/sgd-run", "--format", "json"], in: workspace.path).out
        #expect(json.hasPrefix("{\"run_id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2\", \"run_name\": \"sgd-run\""))
        #expect(json.contains("\"status\": \"FAILED\", \"start_time\": 1700000030000, \"end_time\": 1700000090000"))
        #expect(
            json.contains(
                "\"params\": [{\"key\": \"lr\", \"value\": \"0.1\"}, {\"key\": \"optimizer\", \"value\": \"sgd\"}], \"tags\": []"
            ))
        #expect(
            json.contains(
                "\"metrics\": [{\"key\": \"loss\", \"value\": 1.5, \"timestamp\": 1700000033000, \"step\": 2, \"min\": 1.5, \"max\": \"Infinity\", \"count\": 3}]"
            ))
        let csv = try runlog(["show", "fixture/adam-run", "--format", "csv"], in: workspace.path).out
        #expect(
            csv.contains(
                "param,lr,0.001\nparam,optimizer,adam\ntag,team,vision\nmetric,loss,0.25\nmetric,val/loss,0.75\n"))
        let table = try runlog(["show", "fixture/adam-run"], in: workspace.path).out
        #expect(
            table.contains(
                "  status      FINISHED\n  started     2023-11-14 22:13:20\n  ended       2023-11-14 22:14:20  (1.0m)\n"
            ))
        #expect(table.contains("  loss      █▄ ▁▁  last 0.25 @4  min 0.25  max 2.5  n 5\n"))
    }

    /// `runlog ingest --experiment live --run-name RUN`, reading from the pipe returned.
    private func startIngest(run: String, in workspace: Workspace) throws -> (Process, Pipe) {
        let ingest = Process()
        ingest.executableURL = URL(fileURLWithPath: builtProduct("runlog"))
        ingest.arguments = ["ingest", "--experiment", "live", "--run-name", run]
        ingest.currentDirectoryURL = URL(fileURLWithPath: workspace.path)
        let input = Pipe()
        ingest.standardInput = input
        ingest.standardError = FileHandle.nullDevice
        try ingest.run()
        return (ingest, input)
    }

    @Test func tailFollowsALiveRunUntilItFinishes() throws {
        let workspace = try Workspace(importing: false)
        let (ingest, input) = try startIngest(run: "follow", in: workspace)
        input.fileHandleForWriting.write(Data("loss,1,0.5,1000\n".utf8))
        // Wait until the run exists, then follow it while more points arrive.
        var started = false
        for _ in 0..<100 where !started {
            started = (try? runlog(["show", "live/follow"], in: workspace.path).status) == 0
            if !started { usleep(50_000) }
        }
        #expect(started)
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: builtProduct("runlog"))
        tail.arguments = ["tail", "live/follow", "--format", "csv", "--interval", "0.05"]
        tail.currentDirectoryURL = URL(fileURLWithPath: workspace.path)
        let output = Pipe()
        tail.standardOutput = output
        try tail.run()
        for step in 2...4 {
            usleep(1_200_000)  // ingest flushes at least every second
            input.fileHandleForWriting.write(Data("loss,\(step),0.\(step),\(step * 1000)\n".utf8))
        }
        try input.fileHandleForWriting.close()
        ingest.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tail.waitUntilExit()
        #expect(tail.terminationStatus == 0, "tail ends when the run finishes")
        #expect(
            text == "key,step,timestamp,value\nloss,1,1000,0.5\nloss,2,2000,0.2\nloss,3,3000,0.3\nloss,4,4000,0.4\n")
    }

    @Test func ingestFlushesWhileItsInputIsIdle() throws {
        let workspace = try Workspace(importing: false)
        let (ingest, input) = try startIngest(run: "idle", in: workspace)
        input.fileHandleForWriting.write(Data((0..<100).map { "loss,\($0),0.5\n" }.joined().utf8))
        // No more input, the pipe stays open: the points must become readable within a few seconds.
        var seen = 0
        let deadline = Date().addingTimeInterval(10)
        while seen < 100, Date() < deadline {
            usleep(200_000)
            let scanned = try runlog(["scan", "live/idle", "loss", "--format", "csv"], in: workspace.path)
            seen = max(0, scanned.out.split(separator: "\n").count - 1)
        }
        #expect(seen == 100, "the idle input's points were not flushed")
        try input.fileHandleForWriting.close()
        ingest.waitUntilExit()
        #expect(ingest.terminationStatus == 0)
    }

    @Test func ingestRefusesALineOverOneMebibyteAndGoesOn() throws {
        let workspace = try Workspace(importing: false)
        let long = "loss,1," + String(repeating: "9", count: 1_500_000)
        let result = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "r"], in: workspace.path,
            input: "loss,0,0.5\n\(long)\nloss,2,0.25\n\(long)")
        #expect(result.status == 0)
        #expect(result.err.contains("line 2: longer than 1048576 bytes, skipped"), "\(result.err)")
        #expect(result.err.contains("line 4: longer than 1048576 bytes, skipped"), "\(result.err)")
        #expect(result.err.contains(": 2 points, 2 bad lines skipped"))
        let steps = try runlog(["scan", "e/r", "loss", "--format", "csv"], in: workspace.path).out
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
        #expect(steps == ["0", "2"])
        let strict = try runlog(["ingest", "--experiment", "e", "--strict"], in: workspace.path, input: long + "\n")
        #expect(strict.status == 1)
    }

    @Test func helpListsEveryCommand() throws {
        let workspace = try Workspace(importing: false)
        let help = try runlog(["--help"], in: workspace.path)
        #expect(help.status == 0)
        #expect(
            help.out == """
                OVERVIEW: Record, query and compare ML experiment metrics in a Runlog store.

                The store is --store PATH (before or after the subcommand), else $RUNLOG_STORE,
                else ./runlog-store. Exit status: 0 on success, 1 on an error (message on
                stderr), 2 on a usage error.

                USAGE: runlog [--store PATH] <subcommand> [options]

                OPTIONS:
                  -h, --help              Show help information.

                SUBCOMMANDS:
                  demo                    Train a small model under 4 hyperparameter settings,
                                          then list and compare the runs.
                  experiments             List experiments (id, name, runs, last activity), or
                                          create, delete and restore them.
                  runs                    List runs with status, duration, params and metric
                                          summaries; delete and restore them.
                  show                    Show a run: attributes, params, tags, reproducibility
                                          inputs, artifacts, and every metric with a sparkline.
                  scan                    Print the history of one metric of a run, or its
                                          downsampled history with --buckets.
                  search                  Search runs of every experiment with a filter
                                          expression (as `runs --filter`).
                  compare                 Compare runs: params with differences marked, metric
                                          summaries, histories aligned by step.
                  tail                    Follow a live run: print new points as its writer
                                          flushes them, like tail -f.
                  ingest                  Create a run and log the points read from stdin, as
                                          JSON Lines or CSV.
                  export                  Export runs' metric points as CSV or JSON Lines, or a
                                          whole experiment to a directory.
                  import                  Import from other tracking systems.
                  stats                   Store statistics: runs, series, points, bytes on
                                          disk, bytes per point, blocks, segments.
                  verify                  Check every checksum (segments and index snapshots)
                                          and decode every block of runs; exit 1 on corruption.
                  compact                 Merge runs' blocks and segments into large
                                          step-sorted blocks.
                  gc                      Permanently remove deleted runs and experiments, as
                                          `mlflow gc` does.
                  server, ui              Serve MLflow's tracking REST API and the web UI over
                                          the store, so the stock mlflow client logs into it.
                  run                     Run a program as a run: record what reproduces it,
                                          let it log into the run, keep its output.
                  rerun                   Run a recorded run's program again, after checking
                                          that what it depends on has not changed.

                  See 'runlog help <subcommand>' for detailed help.

                """)
    }

    @Test func theDemoTrainsFourRunsAndComparesThem() throws {
        let workspace = try Workspace(importing: false)
        let demo = try runlog(["demo", "--steps", "300"], in: workspace.path)
        #expect(demo.status == 0)
        #expect(demo.out.hasPrefix("experiment \"demo\" in runlog-store: 4 runs of 300 steps\n"))
        #expect(demo.out.contains("lr=0.5 l2=0.0 batch=32"))
        #expect(demo.out.contains("val/loss by step\n"))
        #expect(!demo.out.contains("█░"), "no progress bar when stdout is not a terminal")
        let runs = try runlog(["runs", "--experiment", "demo", "--format", "json"], in: workspace.path).out.split(
            separator: "\n")
        #expect(
            runs.count == 4
                && runs.allSatisfy {
                    $0.contains("\"status\": \"FINISHED\"") && $0.contains("{\"key\": \"learning_rate\"")
                })
        #expect(try runlog(["verify"], in: workspace.path).status == 0)
    }
}
