import Foundation
import Testing

@Suite struct ChartTests {
    /// Two runs: a that decays to 0 (and ends in a NaN), b that levels off at 1; a third metric each
    /// has alone, and one they do not share.
    private func workspace() throws -> Workspace {
        let workspace = try Workspace(importing: false)
        let a = (0..<40).map { "loss,\($0),\(2.0 * pow(0.9, Double($0))),\(1_700_000_000_000 + $0 * 1000)\n" }.joined()
        _ = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "a"], in: workspace.path,
            input: a + "loss,40,NaN,1700000040000\nacc,0,0.5\n")
        let b = (0..<40).map { "loss,\($0),\(1.0 + 0.5 * pow(0.95, Double($0))),\(1_700_000_000_000 + $0 * 500)\n" }
        _ = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "b"], in: workspace.path, input: b.joined() + "other,0,1\n")
        return workspace
    }

    /// The whole chart, pinned: braille curves across $COLUMNS, 5 round ticks on each axis (the
    /// axes widened to them), each run's letter beside the row its curve ends on, the legend, and
    /// the NaN that was not drawn. Without --metric, the metric both runs have.
    @Test func compareChartsTheFirstSharedMetricAcrossTheWidth() throws {
        let workspace = try workspace()
        let result = try runlog(
            ["compare", "e/a", "e/b", "--chart"], in: workspace.path, environment: ["COLUMNS": "50"])
        #expect(result.status == 0)
        let chart = String(result.out[result.out.range(of: "loss by step")!.lowerBound...])
        #expect(
            chart == """
                loss by step
                  2 ┤⢣                                            
                    │⠈⡆                                           
                    │ ⠸⡀                                          
                    │  ⢣                                          
                1.5 ┤⠑⠒⠢⢧⣀⣀                                       
                    │    ⠣⡀⠉⠒⠒⠤⠤⣀⣀⣀⡀                              
                    │     ⠱⡀       ⠈⠉⠑⠒⠒⠢⠤⠤⠤⠤⣀⣀⣀⣀                 
                    │      ⠱⡀                    ⠉⠉⠉⠉⠉⠉⠑⠒⠒⠒⠒⠒⠒⠒  b
                  1 ┤       ⠑⡄                                    
                    │        ⠈⢆                                   
                    │          ⠑⢄                                 
                0.5 ┤            ⠉⠢⡀                              
                    │              ⠈⠢⢄⡀                           
                    │                 ⠈⠑⠤⠤⣀                       
                    │                      ⠉⠒⠒⠤⠤⣀⣀                
                  0 ┤                             ⠉⠉⠉⠑⠒⠒⠒⠒⠒⠤⠤⠤⠤  a
                    └┬──────────┬─────────┬──────────┬─────────┬
                     0         10        20         30        40
                legend: a ⣿ a   b ⣿ b
                not drawn: 1 NaN

                """)
        #expect(chart.split(separator: "\n").allSatisfy { $0.count <= 50 })
    }

    @Test func coloursLettersAndShapingOptions() throws {
        let workspace = try workspace()
        let coloured = try runlog(
            ["compare", "e/a", "e/b", "--chart", "--metric", "loss"], in: workspace.path,
            environment: ["COLUMNS": "60", "CLICOLOR_FORCE": "1", "NO_COLOR": ""])
        // Each run in its own colour, the legend in the same colours.
        #expect(coloured.out.contains("legend: \u{1B}[34ma ⣿\u{1B}[0m a   \u{1B}[33mb ⣿\u{1B}[0m b"))
        #expect(coloured.out.contains("\u{1B}[34m⣀\u{1B}[0m") || coloured.out.contains("\u{1B}[34m⠉\u{1B}[0m"))
        let noColour = try runlog(
            ["compare", "e/a", "e/b", "--chart"], in: workspace.path,
            environment: ["COLUMNS": "60", "CLICOLOR_FORCE": "1", "NO_COLOR": "1"])
        #expect(!noColour.out.contains("\u{1B}["))

        let shaped = try runlog(
            ["compare", "e/a", "e/b", "--chart", "--x", "relative", "--log-y", "--smooth", "0.5"], in: workspace.path,
            environment: ["COLUMNS": "60"])
        #expect(shaped.status == 0)
        #expect(shaped.out.contains("loss by time since the run's start, log y, smoothed 0.5\n"))
        // Run a spans 39 s, b 19.5 s: round seconds on the x-axis.
        #expect(shaped.out.contains("0s") && shaped.out.contains("40s"))
        let byTime = try runlog(
            ["compare", "e/a", "e/b", "--chart", "--x", "time"], in: workspace.path,
            environment: ["COLUMNS": "60", "TZ": "UTC"])
        #expect(byTime.out.contains("22:13:20") && byTime.out.contains("loss by time\n"))

        let bad = try runlog(["compare", "e/a", "e/b", "--chart", "--smooth", "1"], in: workspace.path)
        #expect(bad.status != 0 && bad.err.contains("--smooth takes a weight from 0 up to (not including) 1, not 1.0"))
        let without = try runlog(["compare", "e/a", "e/b", "--log-y"], in: workspace.path)
        #expect(without.status != 0 && without.err.contains("--x, --log-y and --smooth go with --chart"))
    }

    /// The demo's settings end visibly apart, its chart shows them, and it ends with commands that
    /// name this store's runs.
    @Test func theDemoTellsAStoryAndSaysWhatToTryNext() throws {
        let workspace = try Workspace(importing: false)
        let demo = try runlog(["demo", "--store", "d"], in: workspace.path, environment: ["COLUMNS": "100"])
        #expect(demo.status == 0)
        #expect(demo.out.contains("val/loss by step\n"))
        #expect(demo.out.contains("legend: a ⣿ lr=0.5 l2=0.0 batch=32   b ⣿ lr=0.05 l2=0.0 batch=32"))
        let csv = try runlog(["runs", "--store", "d", "--format", "csv", "--columns", "val/loss"], in: workspace.path)
        let finals = csv.out.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",").last!) }
        #expect(finals.count == 4)
        let sorted = finals.sorted()
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 > 0.005 }, "\(sorted)")
        #expect(sorted.last! - sorted.first! > 0.05, "\(sorted)")
        let next = demo.out[demo.out.range(of: "\nnext:\n")!.upperBound...].split(separator: "\n")
        #expect(next.count == 6)
        let show = try runlog(
            Array(next[0].split(separator: " ").dropFirst().map(String.init)), in: workspace.path)
        #expect(show.status == 0 && show.out.hasPrefix("run "))
        let compare = try runlog(
            Array(next[1].split(separator: " ").dropFirst().map(String.init)), in: workspace.path)
        #expect(compare.status == 0 && compare.out.contains("train/loss by step, smoothed 0.9\n"))
    }

    /// Values and steps at the ends of their ranges draw a chart, never a trap.
    @Test func extremesDrawAChart() throws {
        let workspace = try Workspace(importing: false)
        for (name, lines) in [
            ("x", "loss,-9223372036854775808,-1e308\nloss,9223372036854775807,1e308\nloss,0,5e-324\n"),
            ("y", "loss,0,1.7976931348623157e308\nloss,1,-1.7976931348623157e308\n"),
        ] {
            _ = try runlog(["ingest", "--experiment", "e", "--run-name", name], in: workspace.path, input: lines)
        }
        for options in [[], ["--log-y"], ["--smooth", "0.9"], ["--x", "relative"]] {
            let result = try runlog(
                ["compare", "e/x", "e/y", "--chart", "--metric", "loss"] + options, in: workspace.path,
                environment: ["COLUMNS": "50"])
            #expect(result.status == 0, "\(options): \(result.err)")
            #expect(result.out.contains("legend: a ⣿ x   b ⣿ y"), "\(options)")
        }
    }

    /// Steps, timestamps and values at the ends of Int64 and Double: `show`'s sparkline and every
    /// chart of `compare` answer, never trap (issue 33, point 1).
    @Test func extremesDrawWithoutTrapping() throws {
        let workspace = try Workspace(importing: false)
        let rows = [
            "m,-9223372036854775808,-1.7976931348623157e308,-9223372036854775808",
            "m,-1,5e-324,-1", "m,0,NaN,0", "m,9223372036854775807,1.7976931348623157e308,9223372036854775807",
        ]
        for name in ["a", "b"] {
            let ingested = try runlog(
                ["ingest", "--experiment", "e", "--run-name", name], in: workspace.path,
                input: rows.joined(separator: "\n") + "\n")
            #expect(ingested.status == 0, "\(ingested.err)")
        }
        let shown = try runlog(["show", "e/a"], in: workspace.path)
        #expect(shown.status == 0, "\(shown.err)")
        #expect(shown.out.contains("min -1.798e+308"))
        for extra in [["--x", "step"], ["--x", "time"], ["--x", "relative"], ["--log-y", "--smooth", "0.9"]] {
            let drawn = try runlog(["compare", "e/a", "e/b", "--chart"] + extra, in: workspace.path)
            #expect(drawn.status == 0, "\(extra): \(drawn.err)")
        }
    }
}
