import Foundation
import Runlog
import RunlogReliability
import RunlogStore
import RunlogWorkloads
import Testing

/// SIGKILL of `runlog server` while a client logs through HTTP: every batch the server answered
/// 200 for is in the run afterwards, exactly once, and nothing is there that was never sent.
@Suite struct ServerCrashTests {
    /// 8 kills, each 50–300 ms after the round's first answer; a few seconds in all.
    @Test func aKilledServerLosesNothingItAcknowledged() throws {
        let directory = TemporaryDirectory()
        let executable = builtProduct("runlog")
        var random = SeededRandom(seed: 11)
        var runID: String?
        var acknowledged: Set<Int> = []
        var sent = 0
        let pointsPerBatch = 100
        for kill in 0..<8 {
            let server = try ChildProcess(executable, ["server", "--store", directory.store, "--port", "0"])
            let port = try #require(Self.port(server), "the server prints its address (kill \(kill))")
            let socket = try LoopbackSocket(port: port)
            if runID == nil {
                try socket.send(Self.post("runs/create", #"{"experiment_id":"0","run_name":"crash"}"#))
                let created = try #require(socket.receiveResponse())
                let object = try JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any]
                runID = ((object?["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String
            }
            let run = try #require(runID)
            // The kill comes 50–300 ms after the first answer, from another thread, whatever is in flight.
            let delay = 50_000 + UInt32(random.next() % 250_000)
            let pid = server.pid
            let killer = Thread {
                usleep(delay)
                _ = Glibc.kill(pid, SIGKILL)
            }
            var started = false
            while true {
                let batch = sent
                let metrics = (0..<pointsPerBatch).map {
                    #"{"key":"m","value":\#(batch),"timestamp":1,"step":\#(batch * pointsPerBatch + $0)}"#
                }
                guard
                    (try? socket.send(
                        Self.post(
                            "runs/log-batch", #"{"run_id":"\#(run)","metrics":[\#(metrics.joined(separator: ","))]}"#)))
                        != nil
                else { break }
                sent += 1
                guard let answer = socket.receiveResponse() else { break }
                #expect(answer.status == 200)
                acknowledged.insert(batch)
                if !started {
                    killer.start()  // the clock runs from the first answer, however slow the machine
                    started = true
                }
            }
            socket.close()
            if !started { server.kill(SIGKILL) }  // no answer came: end it here, never wait on it
            server.wait()
        }
        #expect(acknowledged.count >= 8, "every round was answered at least once (\(acknowledged.count) batches)")
        let store = try TrackingStore.open(at: directory.store)
        defer { store.engine.close() }
        let id = try #require(runID.flatMap(RunID.init))
        let points = try store.history(of: id, "m")
        var seen: [Int64: Int] = [:]
        for point in points { seen[point.step, default: 0] += 1 }
        #expect(seen.values.allSatisfy { $0 == 1 }, "no point twice")
        #expect(seen.keys.allSatisfy { $0 >= 0 && $0 < Int64(sent * pointsPerBatch) }, "nothing never sent")
        for batch in acknowledged {
            for step in (batch * pointsPerBatch)..<((batch + 1) * pointsPerBatch) {
                guard seen[Int64(step)] == 1 else {
                    Issue.record("acknowledged batch \(batch) lost step \(step)")
                    return
                }
            }
        }
    }

    /// 6 kills while registry writes stream in (a registered model, then a version of it): every
    /// write the server answered 200 for is in the store's model journal afterwards.
    @Test func aKilledServerKeepsEveryRegistryWriteItAcknowledged() throws {
        let directory = TemporaryDirectory()
        let executable = builtProduct("runlog")
        var random = SeededRandom(seed: 12)
        var acknowledged: [String: Int] = [:]  // name → versions acknowledged
        var sent = 0
        for kill in 0..<6 {
            let server = try ChildProcess(executable, ["server", "--store", directory.store, "--port", "0"])
            let port = try #require(Self.port(server), "the server prints its address (kill \(kill))")
            let socket = try LoopbackSocket(port: port)
            let delay = 50_000 + UInt32(random.next() % 250_000)
            let pid = server.pid
            let killer = Thread {
                usleep(delay)
                _ = Glibc.kill(pid, SIGKILL)
            }
            var started = false
            loop: while true {
                let name = "model \(sent)"
                sent += 1
                for (path, body) in [
                    ("registered-models/create", #"{"name":"\#(name)"}"#),
                    ("model-versions/create", #"{"name":"\#(name)","source":"s3://bucket/\#(sent)"}"#),
                ] {
                    guard (try? socket.send(Self.post(path, body))) != nil, let answer = socket.receiveResponse() else {
                        break loop
                    }
                    #expect(answer.status == 200)
                    acknowledged[name] = path.hasPrefix("model-versions") ? 1 : 0
                    if !started {
                        killer.start()
                        started = true
                    }
                }
            }
            socket.close()
            if !started { server.kill(SIGKILL) }
            server.wait()
        }
        #expect(acknowledged.count >= 6, "every round was answered at least once (\(acknowledged.count) models)")
        let models = try ModelStore(storePath: directory.store)
        #expect(models.damage == nil)
        let kept = Dictionary(uniqueKeysWithValues: models.allRegisteredModels().map { ($0.name, $0.versions.count) })
        for (name, versions) in acknowledged {
            guard let found = kept[name], found >= versions else {
                Issue.record("acknowledged \(name) with \(versions) versions is \(String(describing: kept[name]))")
                return
            }
        }
        #expect(
            kept.keys.allSatisfy { Int($0.dropFirst("model ".count)).map { $0 < sent } ?? false }, "nothing never sent")
    }

    static func port(_ server: ChildProcess) -> Int? {
        guard let line = server.readLine(), let colon = line.range(of: "127.0.0.1:") else { return nil }
        return Int(line[colon.upperBound...].prefix { $0.isNumber })
    }

    static func post(_ path: String, _ body: String) -> String {
        "POST /api/2.0/mlflow/\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}
