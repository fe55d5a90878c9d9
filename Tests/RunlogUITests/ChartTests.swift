import Foundation
import Runlog
import Testing

@testable import RunlogUI

/// The SVG drawn for known buckets: extremes survive, non-finite values are markers, the range
/// and axes follow the URL.
@Suite struct ChartTests {
    /// A run with `points` steps of a flat curve at 1.0, one spike of 100 at `spike`, and the
    /// given extra points.
    func run(points: Int, spike: Int, extra: [(Int64, Double)] = []) throws -> (UIStore, RunID) {
        let fixture = try UIStore()
        let run = try fixture.store.startRun(
            in: try fixture.store.experiment(named: "e"), startTime: 1_700_000_000_000, captureEnvironment: false)
        for step in 0..<points {
            try run.log("loss", step == spike ? 100 : 1, step: Int64(step), timestamp: 1_700_000_000_000 + Int64(step))
        }
        for (step, value) in extra { try run.log("loss", value, step: step, timestamp: 1_700_000_000_000 + step) }
        try run.finish()
        return (fixture, run.id)
    }

    /// The y coordinates of a path's `d`.
    func ys(_ d: Substring) -> [Double] {
        d.split(whereSeparator: { "MLZ".contains($0) }).compactMap { pair in
            let parts = pair.split(separator: " ")
            return parts.count >= 2 ? Double(parts[1]) : nil
        }
    }

    func attribute(_ name: String, of element: String, in svg: String) -> Substring? {
        guard let start = svg.range(of: "<path class=\"\(element)\"") else { return nil }
        let rest = svg[start.upperBound...]
        guard let open = rest.range(of: "\(name)=\""), let close = rest[open.upperBound...].firstIndex(of: "\"") else {
            return nil
        }
        return rest[open.upperBound..<close]
    }

    @Test func aOneStepSpikeInAMillionPointsSurvives() throws {
        let (fixture, id) = try run(points: 1_000_000, spike: 654_321)
        let svg = String(
            decoding: fixture.get("/chart", ["runs": [id.description], "metric": ["loss"]]).body, as: UTF8.self)
        // 560 px wide: 243 buckets, and the band of the spike's bucket reaches the plot's top.
        let band = try #require(attribute("d", of: "band", in: svg))
        let top = Double(ChartOptions.margin.top)
        let highest = try #require(ys(band).min())
        #expect(highest < top + 10, "band reaches \(highest)")
        // The y-axis is scaled to the spike (its ticks go up to 100).
        #expect(svg.contains("dominant-baseline=\"middle\">100</text>"))
        // Every bucket is drawn: a path point per bucket (no sampling of steps).
        let line = try #require(attribute("d", of: "line", in: svg))
        #expect(ys(line).count == ChartOptions().buckets)
    }

    @Test func nonFiniteValuesAreMarkersNotScale() throws {
        let (fixture, id) = try run(
            points: 1000, spike: -1, extra: [(2000, .nan), (3000, .infinity), (4000, -.infinity), (5000, 2)])
        let svg = String(
            decoding: fixture.get("/chart", ["runs": [id.description], "metric": ["loss"]]).body, as: UTF8.self)
        #expect(svg.contains("class=\"marker nan\""))
        #expect(svg.contains("<title>+Inf</title>"))
        #expect(svg.contains("<title>-Inf</title>"))
        // The scale is that of the finite values, 1…2: no tick is infinite or NaN.
        #expect(!svg.contains(">inf<") && !svg.contains(">nan<") && !svg.contains("NaN</text>"))
        #expect(svg.contains(">2</text>") || svg.contains(">2.0</text>") || svg.contains(">1.8</text>"))
        let line = try #require(attribute("d", of: "line", in: svg))
        // The line lifts over the non-finite points: more than one piece.
        #expect(line.split(separator: "M").count >= 2)
        #expect(ys(line).allSatisfy { $0.isFinite })
    }

    @Test func zoomAsksForBucketsOfTheRangeOnly() throws {
        let (fixture, id) = try run(points: 10_000, spike: 5_000)
        let query = ["runs": [id.description], "metric": ["loss"], "from": ["100"], "to": ["200"], "format": ["json"]]
        let json = try JSONSerialization.jsonObject(with: Data(fixture.get("/chart", query).body)) as! [String: Any]
        let points = ((json["series"] as! [[String: Any]])[0]["points"] as! [[Any]])
        let steps = points.map { ($0[2] as! NSNumber).int64Value }
        #expect(steps.min()! >= 100 && steps.max()! <= 200)
        // 101 steps in 243 buckets: every point is its own bucket.
        #expect(points.count == 101)
        // Outside the range the spike is not drawn, and the chart says the range holds nothing when empty.
        let svg = String(decoding: fixture.get("/chart", query.merging(["format": ["svg"]]) { $1 }).body, as: UTF8.self)
        #expect(!svg.contains("dominant-baseline=\"middle\">100</text>"))
        let empty = fixture.get(
            "/chart", query.merging(["from": ["20000"], "to": ["30000"], "format": ["svg"]]) { $1 })
        #expect(String(decoding: empty.body, as: UTF8.self).contains("no points in this range"))
        #expect(fixture.get("/chart", query.merging(["from": ["300"]]) { $1 }).status == 400)
    }

    @Test func axesLogScaleAndSmoothing() throws {
        let (fixture, id) = try run(points: 1000, spike: 10)
        let base = ["runs": [id.description], "metric": ["loss"]]
        let time = String(decoding: fixture.get("/chart", base.merging(["x": ["time"]]) { $1 }).body, as: UTF8.self)
        #expect(time.contains("data-axis=\"time\""))
        #expect(time.contains("data-x0=\"1700000000000\""))
        #expect(time.contains(">time (UTC)</text>"))
        let relative = String(
            decoding: fixture.get("/chart", base.merging(["x": ["relative"]]) { $1 }).body, as: UTF8.self)
        #expect(relative.contains("data-x0=\"0\""))
        let log = String(decoding: fixture.get("/chart", base.merging(["log": ["1"]]) { $1 }).body, as: UTF8.self)
        #expect(log.contains("log y"))
        #expect(log.contains(">10</text>") || log.contains(">100</text>"))
        let smooth = String(
            decoding: fixture.get("/chart", base.merging(["smooth": ["0.9"]]) { $1 }).body, as: UTF8.self)
        #expect(smooth.contains("class=\"line raw\""))
        #expect(fixture.get("/chart", base.merging(["smooth": ["1.5"]]) { $1 }).status == 400)
        #expect(fixture.get("/chart", base.merging(["x": ["epoch"]]) { $1 }).status == 400)
    }

    @Test func ticksAreRound() {
        #expect(Ticks.nice(0, 1, count: 5) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(Ticks.nice(0, 2999, count: 5) == [0, 1000, 2000])
        #expect(Ticks.label(0.25) == "0.25")
        #expect(Ticks.label(12_500) == "12.5k")
        #expect(Ticks.duration(125_000) == "2m05s")
    }
}
