import Foundation
import RunlogReliability
import RunlogWorkloads
import Testing

@testable import Runlog

/// A store with a few runs across two experiments, logged for real.
struct Fixture {
    let directory = TemporaryDirectory()
    let store: TrackingStore
    let mnist: Experiment
    let cifar: Experiment
    var runs: [RunID] = []

    init() throws {
        store = try makeStore(directory)
        mnist = try store.experiment(named: "mnist")
        cifar = try store.experiment(named: "cifar")
        let settings: [(Experiment, String, String, [Double])] = [
            (mnist, "adam", "0.1", [0.9, 0.5, 0.3]),
            (mnist, "sgd", "0.01", [0.8, 0.7, 0.6, 0.65]),
            (mnist, "adam", "0.01", [1.0, 0.2]),
            (cifar, "sgd", "0.1", [2.0, 1.5]),
        ]
        for (i, (experiment, optimizer, lr, losses)) in settings.enumerated() {
            let run = try store.startRun(
                in: experiment, name: "run\(i)", params: ["optimizer": optimizer, "lr": lr], tags: ["i": "\(i)"],
                captureEnvironment: false)
            for (step, loss) in losses.enumerated() {
                try run.log(
                    ["loss": loss, "accuracy": 1 - loss], step: Int64(step * 10), timestamp: 1000 + Int64(step))
            }
            try run.finish(i == 1 ? .failed : .finished)
            runs.append(run.id)
            usleep(2000)  // distinct start times
        }
        try store.refresh()
    }
}

@Suite struct ListingTests {
    @Test func runsCarrySummariesFromTheIndex() throws {
        let f = try Fixture()
        let listed = f.store.runs(experimentIDs: [f.mnist.id])
        #expect(listed.map(\.name) == ["run2", "run1", "run0"], "newest first")
        let run1 = try f.store.run(f.runs[1])
        let loss = try #require(run1.metrics["loss"])
        #expect(loss.count == 4 && loss.min == 0.6 && loss.max == 0.8)
        #expect(loss.first == MetricPoint(step: 0, timestamp: 1000, value: 0.8))
        #expect(loss.last == MetricPoint(step: 30, timestamp: 1003, value: 0.65))
        #expect(run1.status == .failed)
        #expect(f.store.runs().count == 4)
        #expect(f.store.runs(experimentIDs: [f.cifar.id]).map(\.name) == ["run3"])
    }

    @Test func historyScansByStepsAndTime() throws {
        let f = try Fixture()
        #expect(try f.store.history(of: f.runs[1], "loss").map(\.value) == [0.8, 0.7, 0.6, 0.65])
        #expect(try f.store.history(of: f.runs[1], "loss", range: ScanRange(steps: 10...20)).map(\.step) == [10, 20])
        #expect(
            try f.store.history(of: f.runs[1], "loss", range: ScanRange(timestamps: 1003...1003)).map(\.step) == [30])
        var chunks: [MetricPoint] = []
        try f.store.history(of: f.runs[0], "loss") { chunks.append(contentsOf: $0) }
        #expect(chunks.map(\.value) == [0.9, 0.5, 0.3])
    }
}

@Suite struct DownsampleTests {
    /// The buckets, computed the slow and obvious way.
    func reference(_ points: [MetricPoint], buckets: Int, low: Int64, high: Int64, axis: Axis) -> [Bucket] {
        let span = Double(high) - Double(low) + 1
        var groups: [Int: [MetricPoint]] = [:]
        for point in points {
            let at = axis == .step ? point.step : point.timestamp
            guard (low...high).contains(at) else { continue }
            let i = Int(((Double(at) - Double(low)) * Double(buckets) / span).rounded(.down))
            groups[i, default: []].append(point)
        }
        return groups.keys.sorted().map { i in
            let group = groups[i]!
            let finite = group.map(\.value).filter { !$0.isNaN }
            return Bucket(
                start: low + Int64((Double(i) * span / Double(buckets)).rounded(.up)),
                end: low + Int64((Double(i + 1) * span / Double(buckets)).rounded(.up)) - 1,
                count: group.count, min: finite.min() ?? .nan, max: finite.max() ?? .nan,
                mean: finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count), first: group.first!,
                last: group.last!)
        }
    }

    /// Small blocks send long series down the parallel path (8 blocks or more, in step order);
    /// `shuffled` logs steps out of order, which takes the merging path.
    @Test(
        arguments: [
            (1, 1000, 7, 8192, false), (2, 997, 100, 8192, false), (3, 5000, 1000, 8192, false),
            (4, 50, 200, 8192, false),
            (5, 5000, 333, 64, false), (6, 4099, 1000, 100, false), (7, 3000, 50, 64, true),
        ] as [(UInt64, Int, Int, Int, Bool)])
    func bucketsMatchABruteForceReference(seed: UInt64, points: Int, buckets: Int, blockPoints: Int, shuffled: Bool)
        throws
    {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory, blockPoints: blockPoints)
        let run = try store.startRun(in: try store.experiment(named: "d"), captureEnvironment: false)
        var curve = TrainingCurves.series(.gradientNorm, count: points, seed: seed)
        curve[points / 3].value = 1e6  // a spike must survive
        curve[points / 2].value = .nan
        if shuffled {
            var random = SeededRandom(seed: seed)
            curve.shuffle(using: &random)
        }
        for p in curve { try run.log("g", p.value, step: p.step * 3, timestamp: p.timestamp) }
        try run.finish()
        try store.refresh()
        let logged = try store.history(of: run.id, "g")
        let steps = try store.downsample(run.id, "g", buckets: buckets)
        let expected = reference(logged, buckets: buckets, low: 0, high: Int64(points - 1) * 3, axis: .step)
        #expect(steps.count == expected.count, "seed \(seed)")
        for (a, b) in zip(steps, expected) {
            #expect(a.start == b.start && a.end == b.end && a.count == b.count, "seed \(seed)")
            #expect(a.min.bitPattern == b.min.bitPattern && a.max.bitPattern == b.max.bitPattern, "seed \(seed)")
            #expect(a.first == b.first && a.last == b.last, "seed \(seed)")
            #expect(a.mean.isNaN ? b.mean.isNaN : abs(a.mean - b.mean) <= 1e-9 * max(1, abs(b.mean)), "seed \(seed)")
        }
        #expect(steps.map(\.max).max() == 1e6)
        #expect(steps.reduce(0) { $0 + $1.count } == points)
        // Along time, within a range.
        let t0 = logged[points / 4].timestamp
        let t1 = logged[3 * points / 4].timestamp
        let times = try store.downsample(
            run.id, "g", buckets: buckets, range: ScanRange(timestamps: t0...t1), axis: .time)
        let expectedTimes = reference(logged, buckets: buckets, low: t0, high: t1, axis: .time)
        #expect(times.map(\.count) == expectedTimes.map(\.count))
        #expect(times.map(\.start) == expectedTimes.map(\.start))
    }

    @Test func bucketEdgesTileTheRangeExactly() {
        for (low, high, count) in [
            (Int64(0), Int64(9), 3), (-5, 5, 4), (Int64.min, Int64.max, 7), (7, 7, 5), (0, 1_000_000, 1000),
        ] {
            let grid = BucketGrid(low: low, high: high, count: count)
            var previousEnd = low &- 1
            for i in 0..<count {
                let start = grid.start(i)
                let end = i + 1 < count ? grid.start(i + 1) &- 1 : high
                if start > end { continue }  // an empty span when there are more buckets than positions
                #expect(start == previousEnd &+ 1, "\(low)...\(high) / \(count), bucket \(i)")
                #expect(grid.index(start) == i && grid.index(end) == i, "\(low)...\(high) / \(count), bucket \(i)")
                previousEnd = end
            }
            #expect(previousEnd == high)
        }
    }

    @Test func badBucketCountsAreRefused() throws {
        let f = try Fixture()
        #expect { try f.store.downsample(f.runs[0], "loss", buckets: 0) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        #expect { try f.store.downsample(f.runs[0], "nope", buckets: 10) } throws: {
            ($0 as? RunlogError)?.code == .notFound
        }
    }
}

@Suite struct SearchTests {
    @Test func searchFiltersAcrossExperiments() throws {
        let f = try Fixture()
        let names = { (page: SearchPage) in page.runs.map(\.name) }
        #expect(names(try f.store.search("params.optimizer = 'adam'")) == ["run2", "run0"])
        #expect(names(try f.store.search("metrics.loss < 0.5", experimentIDs: [f.mnist.id])) == ["run2", "run0"])
        #expect(
            names(try f.store.search("metrics.loss.min < 0.5 and attributes.status = 'FINISHED'")) == ["run2", "run0"])
        #expect(
            names(try f.store.search("attributes.status = 'FAILED' or params.lr = '0.1'")) == ["run3", "run1", "run0"])
        #expect(names(try f.store.search("attributes.experiment_id = '\(f.cifar.id)'")) == ["run3"])
        #expect(names(try f.store.search("attributes.run_id = '\(f.runs[1])'")) == ["run1"])
        #expect(names(try f.store.search("tags.i IN ('1', '3')")) == ["run3", "run1"])
    }

    @Test func orderByWithStableTiesAndMissingLast() throws {
        let f = try Fixture()
        let names = { (orderBy: [String]) in try f.store.search(orderBy: orderBy).runs.map(\.name) }
        #expect(try names(["metrics.loss ASC"]) == ["run2", "run0", "run1", "run3"])
        #expect(try names(["metrics.loss DESC"]) == ["run3", "run1", "run0", "run2"])
        #expect(try names(["metrics.loss.max"]) == ["run1", "run0", "run2", "run3"])
        // Ties fall back to newest first.
        #expect(try names(["params.optimizer"]) == ["run2", "run0", "run3", "run1"])
        #expect(try names(["params.optimizer DESC", "params.lr ASC"]) == ["run1", "run3", "run2", "run0"])
        // A run without the column comes last, ascending or descending.
        let experiment = try f.store.experiment(named: "mnist")
        let bare = try f.store.startRun(in: experiment, name: "bare", captureEnvironment: false)
        try bare.finish()
        #expect(try names(["metrics.loss ASC"]).last == "bare")
        #expect(try names(["metrics.loss DESC"]).last == "bare")
        #expect(try names(["attributes.start_time DESC"]).first == "bare")
        #expect { try f.store.search(orderBy: ["metrics.loss UP"]) } throws: {
            guard let error = $0 as? RunlogError else { return false }
            return error.code == .filterSyntax && error.column == nil
                && error.message.hasPrefix("order-by clause \"metrics.loss UP\": syntax error at column 14")
        }
    }

    /// Searches answer from a listing kept between them, with the columns they read: a run
    /// that logs, is deleted or restored, or a new run, shows in the next search and listing.
    @Test func searchesSeeEveryChangeSinceTheLastOne() throws {
        let f = try Fixture()
        let names = { (filter: String) in try f.store.search(filter).runs.map(\.name) }
        #expect(try names("metrics.loss < 0.5") == ["run2", "run0"])
        #expect(try names("params.optimizer = 'adam'") == ["run2", "run0"])
        let experiment = try f.store.experiment(named: "mnist")
        let late = try f.store.startRun(
            in: experiment, name: "late", params: ["optimizer": "adam"], captureEnvironment: false)
        try late.log("loss", 0.9, step: 0)
        try late.flush()
        try f.store.refresh()
        #expect(try names("metrics.loss < 0.5") == ["run2", "run0"])
        #expect(try names("params.optimizer = 'adam'") == ["late", "run2", "run0"])
        try late.log("loss", 0.1, step: 1)
        try late.finish()
        try f.store.refresh()
        #expect(try names("metrics.loss < 0.5") == ["late", "run2", "run0"])
        try f.store.deleteRun(f.runs[2])
        #expect(try names("metrics.loss < 0.5") == ["late", "run0"])
        #expect(!f.store.runs().map(\.name).contains("run2"))
        #expect(try f.store.search("metrics.loss < 0.5", viewType: .deletedOnly).runs.map(\.name) == ["run2"])
        try f.store.restoreRun(f.runs[2])
        #expect(try names("metrics.loss < 0.5") == ["late", "run2", "run0"])
        #expect(f.store.runs().count == 5)
    }

    /// The catalog merges each change into the listing it keeps (and into the columns searches
    /// read) rather than sorting every run again: after any mix of new runs (at any start time),
    /// appends, deletions and restores of runs and experiments, listings and searches are exactly
    /// those of a store opened afresh.
    @Test func keptListingsMatchAFreshOpenAfterEveryChange() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        var random = SeededRandom(seed: 16)
        let experiments = [try store.experiment(named: "a"), try store.experiment(named: "b")]
        var open: [ActiveRun] = []
        var ids: [RunID] = []
        func start() throws {
            let run = try store.startRun(
                in: experiments[Int.random(in: 0...1, using: &random)], name: "r\(ids.count)",
                params: ["lr": ["0.1", "0.01"][Int.random(in: 0...1, using: &random)]],
                startTime: Int64.random(in: 1_000...1_100, using: &random), captureEnvironment: false)
            try run.log("loss", Double.random(in: 0...1, using: &random), step: 0)
            try run.flush()
            ids.append(run.id)
            if Bool.random(using: &random) { try run.finish() } else { open.append(run) }
        }
        for _ in 0..<80 { try start() }
        let filters = ["metrics.loss < 0.5", "params.lr = '0.01'", "metrics.loss < 0.5 and params.lr = '0.1'"]
        func check(_ round: Int) throws {
            let fresh = try TrackingStore.open(at: directory.store, options: quietOptions())
            for includeDeleted in [false, true] {
                #expect(
                    store.runs(includeDeleted: includeDeleted).map(\.id)
                        == fresh.runs(includeDeleted: includeDeleted).map(\.id), "round \(round)")
                for filter in filters {
                    #expect(
                        try store.search(filter, includeDeleted: includeDeleted).runs.map(\.id)
                            == fresh.search(filter, includeDeleted: includeDeleted).runs.map(\.id),
                        "round \(round): \(filter)")
                }
            }
            #expect(store.runs().map(\.metrics["loss"]?.last) == fresh.runs().map(\.metrics["loss"]?.last))
        }
        try check(0)
        for round in 1...40 {
            // A few changes between listings, and now and then more than the merge takes (past
            // an eighth of the runs: built again).
            for _ in 0..<(round % 10 == 0 ? 30 : Int.random(in: 1...4, using: &random)) {
                switch Int.random(in: 0..<6, using: &random) {
                case 0: try start()
                case 1 where !open.isEmpty:
                    let run = open[Int.random(in: open.indices, using: &random)]
                    try run.log("loss", Double.random(in: 0...1, using: &random), step: Int64(round))
                    try run.flush()
                case 2: try store.deleteRun(ids[Int.random(in: ids.indices, using: &random)])
                case 3: try store.restoreRun(ids[Int.random(in: ids.indices, using: &random)])
                case 4:
                    let experiment = experiments[Int.random(in: 0...1, using: &random)]
                    if Bool.random(using: &random) {
                        _ = try store.deleteExperiment(experiment.id)
                    } else {
                        _ = try store.restoreExperiment(experiment.id)
                    }
                default:
                    if !open.isEmpty { try open.removeLast().finish(.killed) }
                }
            }
            try check(round)
        }
        for run in open { try run.finish() }
    }

    @Test func pagesCoverTheResultsOnce() throws {
        let f = try Fixture()
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try f.store.search(orderBy: ["metrics.loss"], maxResults: 3, pageToken: token)
            seen += page.runs.map(\.name)
            token = page.nextPageToken
            pages += 1
        } while token != nil
        #expect(pages == 2)
        #expect(seen == (try f.store.search(orderBy: ["metrics.loss"])).runs.map(\.name))
        let first = try f.store.search(orderBy: ["metrics.loss"], maxResults: 1)
        #expect { try f.store.search(orderBy: ["metrics.loss DESC"], pageToken: first.nextPageToken) } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        #expect { try f.store.search(pageToken: "not a token") } throws: {
            ($0 as? RunlogError)?.code == .invalidArgument
        }
        #expect { try f.store.search(maxResults: 0) } throws: { ($0 as? RunlogError)?.code == .invalidArgument }
    }
}

@Suite struct CompareTests {
    @Test func paramsSummariesAndAlignedHistories() throws {
        let f = try Fixture()
        let comparison = try f.store.compare([f.runs[0], f.runs[1], f.runs[3]], histories: ["loss"])
        #expect(comparison.runs.map(\.name) == ["run0", "run1", "run3"])
        #expect(comparison.params.map(\.key) == ["lr", "optimizer"])
        #expect(comparison.params[0].values == ["0.1", "0.01", "0.1"] && comparison.params[0].differs)
        #expect(comparison.metrics.map(\.key) == ["accuracy", "loss"])
        #expect(comparison.metrics[1].summaries.map { $0?.last.value } == [0.3, 0.65, 1.5])
        let history = try #require(comparison.histories.first)
        #expect(history.positions == [0, 10, 20, 30])
        #expect(history.values[0] == [0.9, 0.5, 0.3, nil])
        #expect(history.values[1] == [0.8, 0.7, 0.6, 0.65])
        #expect(history.values[2] == [2.0, 1.5, nil, nil])
        let byTime = try f.store.compare([f.runs[0], f.runs[3]], histories: ["loss"], axis: .time)
        #expect(byTime.histories[0].positions == [1000, 1001, 1002])
        let same = try f.store.compare([f.runs[0], f.runs[2]])
        #expect(same.params.first { $0.key == "optimizer" }?.differs == false)
        #expect { try f.store.compare([f.runs[0]], histories: ["nope"]) } throws: {
            ($0 as? RunlogError)?.code == .notFound
        }
    }

    @Test func duplicateStepsAlignToTheLastPoint() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "d"), captureEnvironment: false)
        try run.log("x", 1, step: 5, timestamp: 10)
        try run.log("x", 2, step: 5, timestamp: 20)
        try run.log("x", 3, step: 5, timestamp: 15)
        try run.finish()
        try store.refresh()
        let history = try store.compare([run.id], histories: ["x"]).histories[0]
        #expect(history.positions == [5] && history.values[0] == [2])
    }
}

/// Second tests for behaviours a single test used to hold (mutants survived all but one).
@Suite struct EdgeQueryTests {
    @Test func aComparedMetricOneRunLacksIsAnEmptyColumnAndOneNoRunHasIsAnError() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let experiment = try store.experiment(named: "e")
        let a = try store.startRun(in: experiment, captureEnvironment: false)
        try a.log(["only_a": 1.5], step: 3)
        try a.finish()
        let b = try store.startRun(in: experiment, captureEnvironment: false)
        try b.log(["other": 2], step: 1)
        try b.finish()
        let comparison = try store.compare([a.id, b.id], histories: ["only_a"])
        #expect(comparison.histories[0].positions == [3])
        #expect(comparison.histories[0].values == [[1.5], [nil]])
        #expect(comparison.metrics.first { $0.key == "only_a" }?.summaries.map { $0?.count } == [1, nil])
        #expect(throws: RunlogError.self) { try store.compare([a.id, b.id], histories: ["neither"]) }
    }

    @Test func theLatestOfPointsTiedOnStepAndTimeIsTheGreatestValue() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory, blockPoints: 2)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        let loss = try run.metric("loss")
        // Equal step and timestamp, different values, across a block boundary: MLflow's "latest"
        // is the greatest (step, timestamp, value), wherever it was logged.
        for value in [1.0, 3.0, 2.0] { try run.log(loss, value, step: 5, timestamp: 10) }
        try run.finish()
        let summary = try #require(try store.run(run.id).metrics["loss"])
        #expect(summary.last.value == 3 && summary.first.value == 1)
        #expect(try store.history(of: run.id, "loss").map(\.value) == [1, 3, 2])
    }

    @Test func aRangeEndingWhereABlockStartsIncludesThatPoint() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory, blockPoints: 4)
        let run = try store.startRun(in: try store.experiment(named: "e"), captureEnvironment: false)
        let loss = try run.metric("loss")
        for step in Int64(0)..<12 { try run.log(loss, Double(step), step: step, timestamp: 100 + step) }
        try run.finish()
        // Blocks hold steps 0…3, 4…7, 8…11: each bound lands on a block's first or last point.
        for (range, steps) in [(0...4, 0...4), (4...4, 4...4), (3...8, 3...8), (8...8, 8...8), (5...7, 5...7)] {
            let points = try store.history(
                of: run.id, "loss", range: ScanRange(steps: Int64(range.lowerBound)...Int64(range.upperBound)))
            #expect(points.map(\.step) == steps.map(Int64.init), "\(range)")
        }
        let byTime = try store.history(of: run.id, "loss", range: ScanRange(timestamps: 100...104))
        #expect(byTime.map(\.step) == [0, 1, 2, 3, 4])
    }
}
