import Foundation
import Runlog
import RunlogWorkloads
import Testing

@testable import RunlogUI

/// Every chart computation is total at the ends of Int64 and Double (issue 33, point 1): pages,
/// charts and compare over runs whose steps, timestamps, start times and values sit at the extremes
/// render with every axis, scale, smoothing, line and range, and never trap (a trap would end this
/// test process).
@Suite struct ExtremeValueTests {
    static let steps: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]
    static let values: [Double] = [
        -.greatestFiniteMagnitude, .greatestFiniteMagnitude, 5e-324, -5e-324, 0, 1, .nan, .infinity, -.infinity, 1e308,
    ]

    @Test func pagesAndChartsRenderExtremeStepsTimesAndValues() throws {
        let ui = try UIStore()
        let experiment = try ui.store.experiment(named: "extremes")
        var random = SeededRandom(seed: 33)
        var ids: [RunID] = []
        for (n, start) in [Int64.min, -1, 0, 1_700_000_000_000, Int64.max].enumerated() {
            let run = try ui.store.startRun(
                in: experiment, name: "r\(n)", startTime: start, captureEnvironment: false)
            for i in 0..<40 {
                let step = i < Self.steps.count ? Self.steps[i] : Int64(bitPattern: random.next())
                let time =
                    i % 3 == 0
                    ? Self.steps[Int(random.next() % UInt64(Self.steps.count))] : Int64(bitPattern: random.next())
                let value = Self.values[Int(random.next() % UInt64(Self.values.count))]
                try run.log("m", value, step: step, timestamp: time)
                try run.log("one", value, step: step, timestamp: time)
                if i == 0 { break }  // "one" has a single point; "m" goes on
            }
            for i in 1..<40 {
                let step = i < Self.steps.count ? Self.steps[i] : Int64(bitPattern: random.next())
                let time = Self.steps[Int(random.next() % UInt64(Self.steps.count))]
                try run.log("m", Self.values[i % Self.values.count], step: step, timestamp: time)
            }
            try run.finish()
            ids.append(run.id)
        }
        let ranges: [[String: [String]]] = [
            [:], ["from": ["-9223372036854775808"], "to": ["9223372036854775807"]], ["from": ["9223372036854775806"]],
            ["to": ["-9223372036854775807"]], ["from": ["0"], "to": ["0"]],
        ]
        var pages = 0
        for axis in ["step", "time", "relative"] {
            for log in ["0", "1"] {
                for smooth in ["0", "0.9"] {
                    for line in ["last", "mean"] {
                        for range in ranges {
                            var query: [String: [String]] = [
                                "x": [axis], "log": [log], "smooth": [smooth], "line": [line],
                            ]
                            query.merge(range) { $1 }
                            for id in ids {
                                #expect(ui.get("/runs/\(id)", query).status == 200)
                            }
                            var chart = query
                            chart["runs"] = ids.map(\.description)
                            chart["metric"] = ["m"]
                            #expect([200, 404].contains(ui.get("/chart", chart).status))
                            var compare = query
                            compare["runs"] = [ids.map(\.description).joined(separator: ",")]
                            #expect(ui.get("/compare", compare).status == 200)
                            pages += 2 + ids.count
                        }
                    }
                }
            }
        }
        #expect(pages == 3 * 2 * 2 * 2 * ranges.count * (2 + ids.count))
        #expect(ui.get("/experiments/\(experiment.id)").status == 200)
        #expect(ui.get("/").status == 200)
    }

    @Test func tickAndDurationHelpersAreTotal() {
        #expect(Ticks.duration(.min).hasPrefix("-"))
        #expect(Ticks.duration(.max).hasSuffix("m"))
        #expect(Chart.format(.nan) == "0" && Chart.format(.infinity) == "0" && Chart.format(1e300) == "1000000000")
        let clamped = [Int64(clamping: 1e300), Int64(clamping: -1e300), Int64(clamping: Double.nan)]
        #expect(clamped == [Int64.max, Int64.min, 0])
        let differences = [Int64.max.clampedMinus(-1), Int64.min.clampedMinus(1), Int64.max.clampedPlus(1)]
        #expect(differences == [Int64.max, Int64.min, Int64.max])
        let ticks = Ticks.nice(-Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude, count: 5)
        #expect(!ticks.isEmpty && ticks.allSatisfy { $0.isFinite })
        let ago = Format.relativeTime(Int64.min, now: Int64.max)
        #expect(!ago.isEmpty)
        _ = Ticks.xLabel(.max, .time, span: .max)
        _ = Ticks.xLabel(.min, .time, span: .max)
    }
}
