// The Runlog side of the side-by-side comparison (Benchmarks/peers/run).
//
//   runlog-peer generate --out FILE [--runs R] [--steps S]
//       writes the workload every peer logs: R runs × 4 float32 training curves (loss, accuracy,
//       learning_rate, grad_norm) × S steps, as little-endian records (below).
//   runlog-peer run --workload FILE --store DIR [--sync-every N]
//       logs it through Runlog's tracking API the way a training loop does (every series at each
//       step), flushing (and fsyncing) every N points when asked, else once per run at finish;
//       then reads back run 0's loss and searches `metrics.loss < 0.5`. Prints one JSON object.
//
// Workload file: "RLWK" runs:u32 series:u32 steps:u32, then per run, per series:
//   nameLength:u8 name, then steps × (step:i64 timestamp:i64 value:f64).
import Foundation
import Runlog
import RunlogWorkloads

let arguments = CommandLine.arguments
func option(_ name: String) -> String? { arguments.firstIndex(of: name).map { arguments[$0 + 1] } }

struct Workload {
    var runs: [[(name: String, points: [WorkloadPoint])]]
    var pointCount: Int { runs.reduce(0) { $0 + $1.reduce(0) { $0 + $1.points.count } } }

    static func generate(runs: Int, steps: Int) -> Workload {
        Workload(
            runs: (0..<runs).map { run in
                TrainingCurves.Kind.allCases.enumerated().map { index, kind in
                    (kind.rawValue, TrainingCurves.series(kind, count: steps, seed: UInt64(run * 10 + index)))
                }
            })
    }

    func encoded() -> Data {
        var data = Data("RLWK".utf8)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        put(UInt32(runs.count))
        put(UInt32(runs.first?.count ?? 0))
        put(UInt32(runs.first?.first?.points.count ?? 0))
        for run in runs {
            for (name, points) in run {
                data.append(UInt8(name.utf8.count))
                data.append(contentsOf: name.utf8)
                for p in points {
                    put(p.step)
                    put(p.timestamp)
                    put(p.value.bitPattern)
                }
            }
        }
        return data
    }

    static func decode(_ data: Data) -> Workload? {
        let bytes = [UInt8](data)
        guard bytes.count >= 16, bytes[0..<4].elementsEqual(Array("RLWK".utf8)) else { return nil }
        var offset = 4
        func get<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard offset + MemoryLayout<T>.size <= bytes.count else { return nil }
            defer { offset += MemoryLayout<T>.size }
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        guard let runCount = get(UInt32.self), let seriesCount = get(UInt32.self), let steps = get(UInt32.self) else { return nil }
        var runs: [[(String, [WorkloadPoint])]] = []
        for _ in 0..<runCount {
            var series: [(String, [WorkloadPoint])] = []
            for _ in 0..<seriesCount {
                guard let length = get(UInt8.self), offset + Int(length) <= bytes.count else { return nil }
                let name = String(decoding: bytes[offset..<offset + Int(length)], as: UTF8.self)
                offset += Int(length)
                var points: [WorkloadPoint] = []
                points.reserveCapacity(Int(steps))
                for _ in 0..<steps {
                    guard let step = get(Int64.self), let time = get(Int64.self), let bits = get(UInt64.self) else { return nil }
                    points.append(WorkloadPoint(step: step, timestamp: time, value: Double(bitPattern: bits)))
                }
                series.append((name, points))
            }
            runs.append(series)
        }
        return Workload(runs: runs)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func directoryBytes(_ path: String) -> Int {
    let fm = FileManager.default
    var total = 0
    for case let entry as String in fm.enumerator(atPath: path) ?? FileManager.DirectoryEnumerator() {
        if let size = (try? fm.attributesOfItem(atPath: path + "/" + entry))?[.size] as? NSNumber,
            (try? fm.attributesOfItem(atPath: path + "/" + entry))?[.type] as? FileAttributeType == .typeRegular
        {
            total += size.intValue
        }
    }
    return total
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("runlog-peer: \(message)\n".utf8))
    exit(2)
}

switch arguments.dropFirst().first {
case "generate":
    guard let out = option("--out") else { fail("generate needs --out FILE") }
    let workload = Workload.generate(runs: Int(option("--runs") ?? "4") ?? 4, steps: Int(option("--steps") ?? "25000") ?? 25000)
    try workload.encoded().write(to: URL(fileURLWithPath: out))
    print("{\"points\": \(workload.pointCount)}")
case "run":
    guard let file = option("--workload"), let path = option("--store") else { fail("run needs --workload FILE --store DIR") }
    guard let data = FileManager.default.contents(atPath: file), let workload = Workload.decode(data) else {
        fail("\(file) is not a workload file")
    }
    let syncEvery = Int(option("--sync-every") ?? "0") ?? 0
    var options = StoreOptions()
    options.durability = .onFlush
    let store = try TrackingStore.open(at: path, options: options)
    let experiment = try store.experiment(named: "peers")
    var ids: [RunID] = []
    let ingest = try seconds {
        for (index, series) in workload.runs.enumerated() {
            let run = try store.startRun(in: experiment, name: "run-\(index)", params: ["run": "\(index)"], captureEnvironment: false)
            let metrics = try series.map { try run.metric($0.name) }
            var sinceSync = 0
            for i in 0..<series[0].points.count {
                for (k, s) in series.enumerated() {
                    let p = s.points[i]
                    try run.log(metrics[k], p.value, step: p.step, timestamp: p.timestamp)
                }
                sinceSync += series.count
                if syncEvery > 0 && sinceSync >= syncEvery {
                    try run.flush()
                    sinceSync = 0
                }
            }
            try run.finish()
            ids.append(run.id)
        }
    }
    store.engine.waitForBackgroundCompaction()
    store.engine.close()
    let bytes = directoryBytes(path + "/runs")
    let reader = try TrackingStore.open(at: path)
    var history = 0
    let read = try seconds { history = try reader.history(of: ids[0], "loss").count }
    var found = 0
    let search = try seconds { found = try reader.search("metrics.loss < 0.5", experimentIDs: [experiment.id]).runs.count }
    print(
        "{\"points\": \(workload.pointCount), \"ingest_seconds\": \(ingest), \"bytes\": \(bytes), "
            + "\"read_seconds\": \(read), \"read_points\": \(history), \"search_seconds\": \(search), \"search_runs\": \(found)}")
default:
    fail("usage: runlog-peer generate --out FILE [--runs R] [--steps S] | run --workload FILE --store DIR [--sync-every N]")
}
