import Foundation
import RunlogReliability
import RunlogStore
import Testing

/// What a new user trips over: global options, output shapes, ambiguity, times, gc and tail.
@Suite struct RoughEdgeTests {
    @Test func storeIsGlobalBeforeOrAfterTheSubcommand() throws {
        let workspace = try Workspace()
        let after = try runlog(["runs", "--store", "runlog-store", "--format", "csv"], in: workspace.path)
        let before = try runlog(["--store", "runlog-store", "runs", "--format", "csv"], in: workspace.path)
        let equals = try runlog(["--store=runlog-store", "runs", "--format", "csv"], in: workspace.path)
        #expect(after.status == 0 && before.status == 0 && equals.status == 0)
        #expect(before.out == after.out && equals.out == after.out)
        #expect(after.out.hasPrefix("run_id,"))
        // A nested subcommand, and a store that is not the default one.
        try FileManager.default.moveItem(atPath: workspace.path + "/runlog-store", toPath: workspace.path + "/other")
        let deleted = try runlog(
            ["--store", "other", "runs", "delete", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2"], in: workspace.path)
        #expect(deleted.out == "deleted aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2\n")
        let listed = try runlog(["--store", "other", "runs", "--format", "csv"], in: workspace.path).out
        #expect(!listed.contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2"))
        let noSubcommand = try runlog(["--store", "other"], in: workspace.path)
        #expect(noSubcommand.status == 0 && noSubcommand.out.contains("SUBCOMMANDS:"), "the root's help, as before")
    }

    @Test func jsonAndJSONLinesAreOneFormat() throws {
        let workspace = try Workspace()
        for arguments in [
            ["runs"], ["experiments"], ["show", "fixture/adam-run"], ["scan", "fixture/adam-run", "loss"],
            ["scan", "fixture/adam-run", "loss", "--buckets", "2"], ["compare", "fixture/adam-run", "fixture/sgd-run"],
            ["stats"], ["export", "fixture/adam-run"],
        ] {
            let json = try runlog(arguments + ["--format", "json"], in: workspace.path)
            let jsonl = try runlog(arguments + ["--format", "jsonl"], in: workspace.path)
            #expect(json.status == 0 && jsonl.status == 0, "\(arguments)")
            #expect(json.out == jsonl.out, "\(arguments)")
            #expect(json.out.hasPrefix("{"), "\(arguments)")
        }
    }

    @Test func csvTellsAParamFromAMetricAndCarriesNumbers() throws {
        let workspace = try Workspace(importing: false)
        let ingest = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "r", "--param", "lr=0.1"], in: workspace.path,
            input: "lr,0,0.1,1000\nlr,1,0.05,2000\nloss,0,2,1000\n")
        #expect(ingest.status == 0, "\(ingest.err)")
        _ = try runlog(["ingest", "--experiment", "e", "--run-name", "other"], in: workspace.path, input: "acc,0,1\n")
        let csv = try runlog(["runs", "--format", "csv"], in: workspace.path).out
        let lines = csv.split(separator: "\n")
        #expect(
            lines[0]
                == "run_id,run_name,status,start_time,end_time,duration,params.lr,metrics.acc,metrics.loss,metrics.lr")
        // The second run: no lr param, no loss or lr metric — empty cells, not "-".
        #expect(lines[1].hasSuffix(",,1.0,,"), "\(lines[1])")
        #expect(lines[2].hasSuffix(",0.1,,2.0,0.05"), "\(lines[2])")
        let fields = lines[2].split(separator: ",", omittingEmptySubsequences: false)
        #expect(Int64(fields[3]) != nil && Int64(fields[4]) != nil, "times are epoch ms")
        #expect(Double(fields[5]) != nil, "the duration is seconds")
        let table = try runlog(["runs"], in: workspace.path).out
        #expect(table.hasPrefix("run           name   status    duration  params.lr  acc  loss  metrics.lr\n"))
        let chosen = try runlog(["runs", "--format", "csv", "--columns", "params.lr,loss"], in: workspace.path).out
        #expect(chosen.hasPrefix("run_id,run_name,status,start_time,end_time,duration,params.lr,metrics.loss\n"))
        let experiments = try runlog(["experiments", "--format", "csv"], in: workspace.path).out
        #expect(experiments.hasPrefix("experiment_id,name,runs,last_update_time,lifecycle_stage\n"))
        #expect(
            Int64(experiments.split(separator: "\n")[1].split(separator: ",")[3]) != nil,
            "last activity is epoch ms in CSV")
    }

    @Test func anAmbiguousNameListsTheRunsItNames() throws {
        let workspace = try Workspace(importing: false)
        for _ in 0..<2 {
            _ = try runlog(["ingest", "--experiment", "e", "--run-name", "same"], in: workspace.path, input: "x,0,1\n")
        }
        let ids = try runlog(["runs", "--format", "csv"], in: workspace.path).out.split(separator: "\n").dropFirst()
            .map { String($0.prefix(32)) }.sorted()
        let result = try runlog(["show", "e/same"], in: workspace.path)
        #expect(result.status == 1)
        let lines = result.err.split(separator: "\n")
        #expect(lines.first == "error: \"e/same\" names 2 runs; use a run id:")
        #expect(lines.count == 3)
        #expect(Set(lines.dropFirst().map { String($0.dropFirst(2).prefix(32)) }) == Set(ids))
        #expect(lines.dropFirst().allSatisfy { $0.contains("  e/same  started 20") })
    }

    @Test func timesTakeISODatesAndDurations() throws {
        let workspace = try Workspace()
        func steps(_ arguments: [String]) throws -> String {
            let result = try runlog(
                ["scan", "fixture/adam-run", "loss", "--format", "csv"] + arguments, in: workspace.path)
            #expect(result.status == 0, "\(arguments): \(result.err)")
            return result.out.split(separator: "\n").dropFirst().map { String($0.prefix(1)) }.joined()
        }
        // adam-run's loss is at 1700000001000 … 1700000005000 (2023-11-14T22:13:21Z … :25Z).
        #expect(try steps(["--since", "1700000003000"]) == "234")
        #expect(try steps(["--since", "2023-11-14T22:13:23Z"]) == "234")
        #expect(try steps(["--since", "2023-11-14T22:13:23.001"]) == "34")
        #expect(try steps(["--until", "2023-11-14T23:13:22+01:00"]) == "01")
        #expect(try steps(["--since", "2023-11-14", "--until", "2023-11-15"]) == "01234")
        #expect(try steps(["--since", "1d"]).isEmpty, "all of it is older than a day")
        #expect(try steps(["--until", "1d"]) == "01234")
        let bad = try runlog(["scan", "fixture/adam-run", "loss", "--since", "2023-02-30"], in: workspace.path)
        #expect(bad.status == 2 && bad.err.contains("The value '2023-02-30' is invalid for '--since <time>'"))

        func names(_ filter: String) throws -> [String] {
            let result = try runlog(["search", filter, "--format", "csv"], in: workspace.path)
            #expect(result.status == 0, "\(filter): \(result.err)")
            return result.out.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
        }
        // adam-run started 2023-11-14T22:13:20Z, sgd-run 30 s later.
        #expect(try names("attributes.start_time > '2023-11-14T22:13:30'") == ["sgd-run"])
        #expect(try names("attributes.start_time <= '2023-11-14 22:13:20'") == ["adam-run"])
        #expect(try names("attributes.start_time IN ('2023-11-14T22:13:50Z', '2023-01-01')") == ["sgd-run"])
        let wrong = try runlog(["search", "attributes.start_time > 'yesterday'"], in: workspace.path)
        #expect(wrong.status == 2)
        #expect(
            wrong.err.contains("attributes.start_time is a time; compare it with epoch milliseconds or an ISO 8601"))
    }

    @Test func errorsKeepStdoutEmptyAndHelpShowsTheListing() throws {
        let workspace = try Workspace()
        let unknown = try runlog(["scan", "fixture/adam-run", "nokey"], in: workspace.path)
        #expect(unknown.status == 1 && unknown.out.isEmpty)
        #expect(unknown.err.contains("has no metric \"nokey\"; it has loss, val/loss"))
        let unknownCSV = try runlog(["scan", "fixture/adam-run", "nokey", "--format", "csv"], in: workspace.path)
        #expect(unknownCSV.status == 1 && unknownCSV.out.isEmpty)
        for command in ["runs", "experiments"] {
            let help = try runlog([command, "--help"], in: workspace.path)
            #expect(help.status == 0)
            #expect(help.out.contains("--format <format>") && help.out.contains("--all"), "\(command)")
            #expect(help.out.contains("SUBCOMMANDS:") && help.out.contains("delete"), "\(command)")
        }
        #expect(try runlog(["runs", "--help"], in: workspace.path).out.contains("--filter <filter>"))
        let filterError = try runlog(["runs", "--filter", "metrics.loss <"], in: workspace.path)
        #expect(filterError.status == 2 && filterError.err.contains("Usage: runlog runs [--experiment E…]"))
        #expect(filterError.err.contains("See 'runlog runs --help'"))
        // A pipe gets the header of an empty answer and no word on stderr.
        let none = try runlog(["search", "params.lr = 'none'"], in: workspace.path)
        #expect(none.status == 0 && none.out == "run  name  status  duration\n" && none.err.isEmpty)
    }

    @Test func gcDryRunAndOlderThan() throws {
        let workspace = try Workspace()
        // The import deleted experiment "old" (run "ancient") just now; delete adam-run too.
        #expect(try runlog(["runs", "delete", "fixture/adam-run"], in: workspace.path).status == 0)
        let recent = try runlog(["gc", "--older-than", "1d"], in: workspace.path)
        #expect(recent.status == 0)
        #expect(
            recent.out == """
                removed 0 runs and 0 experiments, freeing 0 bytes
                  kept run aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1: deleted too recently
                  kept run bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1: deleted too recently

                """)
        let dry = try runlog(["gc", "--dry-run"], in: workspace.path)
        #expect(dry.out.hasPrefix("would remove 2 runs and 1 experiments, freeing "))
        #expect(
            dry.out.contains(
                "  run aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1\n  run bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1\n  experiment 2\n"))
        #expect(
            try runlog(["runs", "--all", "--format", "csv"], in: workspace.path).out.split(separator: "\n").count == 4)
        // A tombstone written before deletion times were recorded is empty: --older-than keeps it.
        let tombstone = workspace.path + "/runlog-store/runs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1/DELETED"
        #expect(try String(contentsOfFile: tombstone, encoding: .utf8).hasSuffix("\n"))
        try Data().write(to: URL(fileURLWithPath: tombstone))
        usleep(20_000)
        let old = try runlog(["gc", "--older-than", "10ms"], in: workspace.path)
        #expect(
            old.out == """
                removed 1 runs and 1 experiments, freeing \(old.out.split(separator: " ")[7]) bytes
                  run bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1
                  experiment 2
                  kept run aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1: its deletion time is not recorded (gc without --older-than removes it)

                """)
        let all = try runlog(["gc"], in: workspace.path)
        #expect(all.out.hasPrefix("removed 1 runs and 0 experiments"))
        #expect(
            try runlog(["runs", "--all", "--format", "csv"], in: workspace.path).out.split(separator: "\n").count == 2)
        let bad = try runlog(["gc", "--older-than", "30 days"], in: workspace.path)
        #expect(bad.status == 2 && bad.err.contains("The value '30 days' is invalid for '--older-than <duration>'"))
    }

    @Test func tailStartsNPointsBack() throws {
        let workspace = try Workspace(importing: false)
        let points = (0..<50).map { "loss,\($0),\($0),\(1000 + $0)\n" }.joined() + "acc,0,0.5,1000\n"
        #expect(
            try runlog(["ingest", "--experiment", "e", "--run-name", "r"], in: workspace.path, input: points).status
                == 0)
        let three = try runlog(["tail", "e/r", "loss", "-n", "3", "--format", "csv"], in: workspace.path)
        #expect(three.status == 0)
        #expect(three.out == "key,step,timestamp,value\nloss,47,1047,47.0\nloss,48,1048,48.0\nloss,49,1049,49.0\n")
        let defaults = try runlog(["tail", "e/r", "--format", "csv"], in: workspace.path).out
        #expect(defaults.split(separator: "\n").count == 1 + 1 + 10, "acc's one point and loss's last 10")
        #expect(defaults.contains("loss,40,1040,40.0\n") && !defaults.contains("loss,39,"))
        let all = try runlog(["tail", "e/r", "loss", "-n", "all", "--format", "csv"], in: workspace.path).out
        #expect(all.split(separator: "\n").count == 51)
        #expect(try runlog(["tail", "e/r", "-n", "-1"], in: workspace.path).status == 2)
    }

    @Test func aRunOutsideAnyExperimentIsInDefault() throws {
        let workspace = try Workspace(importing: false)
        let store = try Store.open(at: workspace.path + "/runlog-store")
        let writer = try store.createRun()
        let loss = try writer.series("loss")
        try writer.log(loss, step: 0, timestamp: 1000, value: 2.5)
        try writer.append(.param(key: "lr", value: "0.001", timestamp: 1000))
        try writer.close()
        let id = writer.runID.description
        let experiments = try runlog(["experiments", "--format", "csv"], in: workspace.path)
        #expect(experiments.status == 0)
        #expect(experiments.out.contains("\n0,Default,1,"))
        let show = try runlog(["show", id], in: workspace.path)
        #expect(show.status == 0, "\(show.err)")
        #expect(show.out.contains("  experiment  Default (0)\n"))
        let listed = try runlog(["runs", "--experiment", "Default", "--format", "csv"], in: workspace.path).out
        #expect(listed.contains(id))
        // The Swift API's "Default" is the same experiment, "0".
        let named = try runlog(["experiments", "create", "Default"], in: workspace.path)
        #expect(named.out == "0\n")
    }

    @Test func ingestPassesThroughAScriptsOwnOutputAndMixesFormats() throws {
        let workspace = try Workspace(importing: false)
        let input = """
            Epoch 1/3: starting
            loss,0,2.5
            {"key": "acc", "value": 0.5, "step": 0}
            {'loss': 0.3}
            loss,1,abc
            {"key": "acc", "value": "high", "step": 1}
            Epoch 2/3, 120, done
            key,step,value
            loss,2,1.25,7000

            """
        let through = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "p", "--passthrough"], in: workspace.path, input: input)
        #expect(through.status == 0)
        #expect(through.out == "Epoch 1/3: starting\n{'loss': 0.3}\nEpoch 2/3, 120, done\n")
        // A metric line with a bad value is an error, passthrough or not, and never a point.
        #expect(through.err.contains("line 5: value \"abc\" is not a number\n"))
        #expect(through.err.contains("line 6: value \"high\" is not a number\n"))
        #expect(through.err.contains(": 3 points, 2 bad lines skipped\n"))
        let loss = try runlog(["scan", "e/p", "loss", "--format", "csv"], in: workspace.path).out
        #expect(loss.hasPrefix("step,timestamp,value\n0,") && loss.hasSuffix("\n2,7000,1.25\n"))
        #expect(loss.split(separator: "\n").count == 3)
        let acc = try runlog(["scan", "e/p", "acc", "--format", "csv"], in: workspace.path).out
        #expect(acc.split(separator: "\n").count == 2 && acc.hasSuffix(",0.5\n"))

        let counted = try runlog(["ingest", "--experiment", "e", "--run-name", "c"], in: workspace.path, input: input)
        #expect(counted.status == 0 && counted.out.isEmpty)
        #expect(counted.err.contains("line 1: expected key,step,value[,timestamp], got 1 fields\n"))
        #expect(counted.err.contains("line 4: expected '\"' at column 2\n"))
        #expect(counted.err.contains("line 7: step \" 120\" is not an integer\n"))
        #expect(counted.err.contains(": 3 points, 5 bad lines skipped\n"))
        let wide = try runlog(["ingest", "--experiment", "e"], in: workspace.path, input: "a,1,2,3,4,5\n")
        #expect(wide.err.contains("line 1: expected key,step,value[,timestamp], got more than 4 fields\n"))
    }

    @Test func ingestExitsAsASignalStoppedIt() throws {
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let workspace = try Workspace(importing: false)
            let ingest = Process()
            ingest.executableURL = URL(fileURLWithPath: builtProduct("runlog"))
            ingest.arguments = ["ingest", "--experiment", "e", "--run-name", "r"]
            ingest.currentDirectoryURL = URL(fileURLWithPath: workspace.path)
            let input = Pipe()
            ingest.standardInput = input
            ingest.standardError = FileHandle.nullDevice
            try ingest.run()
            input.fileHandleForWriting.write(Data((0..<100).map { "loss,\($0),0.5\n" }.joined().utf8))
            // Wait until the points are flushed (at most every second while the input idles).
            var seen = 0
            for _ in 0..<100 where seen < 100 {
                usleep(100_000)
                let scanned = try runlog(["scan", "e/r", "loss", "--format", "csv"], in: workspace.path)
                seen = max(0, scanned.out.split(separator: "\n").count - 1)
            }
            #expect(seen == 100)
            kill(ingest.processIdentifier, signal)
            ingest.waitUntilExit()
            #expect(ingest.terminationReason == .exit && ingest.terminationStatus == status, "signal \(signal)")
            let show = try runlog(["runs", "--format", "csv"], in: workspace.path).out
            #expect(show.contains(",r,KILLED,"))
            let points = try runlog(["scan", "e/r", "loss", "--format", "csv"], in: workspace.path).out
            #expect(points.split(separator: "\n").count == 101, "nothing logged is lost")
            try? input.fileHandleForWriting.close()
        }
    }
}
