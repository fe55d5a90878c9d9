import Foundation
import RunlogWorkloads
import Testing

@testable import RunlogServer

@Suite struct JSONReaderTests {
    /// Bodies made by JSONSerialization from seeded random batches read back exactly as written.
    @Test(arguments: [1, 2, 3, 4, 5])
    func readsWhatAnEncoderWrites(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let keys = ["loss", "val/acc", "ünïcødé", "quote\"back\\slash", "tab\tnew\nline", "emoji 🚀", "ctl\u{1}"]
        var metrics: [[String: Any]] = []
        var expected: [(String, UInt64, Int64, Int64)] = []
        for _ in 0..<(Int(random.next() % 200) + 1) {
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let value = Double(bitPattern: random.next())
            let finite = value.isFinite ? value : Double(random.next() % 1_000_000) / 7
            let timestamp = Int64(bitPattern: random.next())
            let step = Int64(bitPattern: random.next()) >> Int64(random.next() % 64)
            metrics.append(["key": key, "value": finite, "timestamp": timestamp, "step": step, "extra": ["x": [1, 2]]])
            expected.append((key, finite.bitPattern, timestamp, step))
        }
        let params = (0..<Int(random.next() % 20)).map { ["key": "p\($0)", "value": keys[$0 % keys.count]] }
        let body: [String: Any] = [
            "run_id": "abc", "metrics": metrics, "params": params, "tags": [], "ignored": NSNull(),
        ]
        let data = try JSONSerialization.data(withJSONObject: body)
        let request = try LogBatchRequest(json: data)
        #expect(request.run_id == "abc")
        #expect(request.metrics.count == expected.count)
        for (metric, want) in zip(request.metrics, expected) {
            #expect(metric.key == want.0)
            #expect(metric.value?.bitPattern == want.1)
            #expect(metric.timestamp == want.2)
            #expect(metric.step == want.3)
        }
        #expect(request.params.map(\.key) == params.map { $0["key"]! })
        #expect(request.params.map(\.value) == params.map { $0["value"]! })
    }

    @Test func nonFiniteStringsEscapesAndExtremes() throws {
        let body = #"""
            {"run_id":"r","metrics":[
             {"key":"a\u00e9\ud83d\ude80\/","value":"NaN","timestamp":-9223372036854775808,"step":9223372036854775807},
             {"key":"b","value":"Infinity","timestamp":1.0,"step":2e3},
             {"key":"c","value":"-Infinity","timestamp":0,"step":-0},
             {"key":"d","value":5e-324,"timestamp":1,"step":null},
             {"key":"e","value":-0.0,"timestamp":1}]}
            """#
        let request = try LogBatchRequest(json: Data(body.utf8))
        let m = request.metrics
        #expect(m[0].key == "aé🚀/")
        #expect(m[0].value!.isNaN)
        #expect(m[0].timestamp == Int64.min)
        #expect(m[0].step == Int64.max)
        #expect(m[1].value == .infinity)
        #expect(m[1].timestamp == 1)
        #expect(m[1].step == 2000)
        #expect(m[2].value == -.infinity)
        #expect(m[3].value == .leastNonzeroMagnitude)
        #expect(m[3].step == nil)
        #expect(m[4].value?.sign == .minus)
    }

    /// The fast paths: names with escapes still match, keys of equal length are not confused by
    /// the key cache, strings past 8 bytes stop at an escape, a control character or UTF-8
    /// wherever it falls, and numbers of every length read as the standard library reads them.
    @Test func fastPathsAgreeWithTheSlowOnes() throws {
        let body = #"""
            {"run_\u0069d":"r","metrics":[
             {"k\u0065y":"m0","value":0.1,"timestamp":123456789012345678,"step":1234567890123456789},
             {"key":"m1","value":12345678901234567890.5,"timestamp":-123456789012345678,"step":-0},
             {"key":"m0","value":1.00000000000000011102230246251565404236316680908203125,"timestamp":1E2,"step":10},
             {"key":"abcdefgh\"ij","value":-2.2250738585072014e-308,"timestamp":7,"step":1},
             {"key":"abcdefghijklmnop\u00e9xyz","value":9007199254740993,"timestamp":7,"step":1},
             {"key":"abcdefghijklmnopé","value":1e22,"timestamp":7,"step":1}]}
            """#
        let request = try LogBatchRequest(json: Data(body.utf8))
        #expect(request.run_id == "r")
        let m = request.metrics
        #expect(m.map(\.key) == ["m0", "m1", "m0", "abcdefgh\"ij", "abcdefghijklmnopéxyz", "abcdefghijklmnopé"])
        let texts = [
            "0.1", "12345678901234567890.5", "1.00000000000000011102230246251565404236316680908203125",
            "-2.2250738585072014e-308", "9007199254740993", "1e22",
        ]
        #expect(m.map { $0.value!.bitPattern } == texts.map { Double($0)!.bitPattern })
        #expect(m.map(\.timestamp) == [123_456_789_012_345_678, -123_456_789_012_345_678, 100, 7, 7, 7])
        #expect(m.map(\.step) == [1_234_567_890_123_456_789, 0, 10, 1, 1, 1])
        let late = "{\"run_id\":\"abcdefghijklmnop\u{7}\"}"
        #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: Data(late.utf8)) }
        var bad = Array(#"{"run_id":"abcdefghijklmnop"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: Data(bad)) }
        bad = Array(#"{"metrics":[{"key":"k","value":1,"timestamp":-01}]}"#.utf8)
        #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: Data(bad)) }
    }

    @Test(arguments: [
        (#"{"metrics":[{"key":"k","value":1,"timestamp":9223372036854775808}]}"#, "'metrics[0].timestamp'"),
        (#"{"metrics":[{"key":"k","value":1,"timestamp":1.5}]}"#, "'metrics[0].timestamp': expected an integer"),
        (#"{"metrics":[{"key":"k","value":1e999,"timestamp":1}]}"#, "'metrics[0].value'"),
        (#"{"metrics":[{"key":"k","value":"nan","timestamp":1}]}"#, "'metrics[0].value': expected a number"),
        (#"{"metrics":[{"key":7}]}"#, "'metrics[0].key': expected a string"),
        (
            #"{"params":{"a":"b"}}"#,
            "Invalid value {...} for parameter 'params' supplied:  Hint: Value was of type 'dict'."
        ),
        (
            #"{"metrics":"foo"}"#,
            #"Invalid value "foo" for parameter 'metrics' supplied:  Hint: Value was of type 'str'."#
        ),
        (#"{"params":[{"key":"a"}]}"#, "'params[0].value'"),
        (#"[1,2]"#, "must be a JSON object"),
        (#"{"run_id":"x"} trailing"#, "not valid JSON"),
        (#"{"run_id":"\ud800"}"#, "surrogate"),
        (#"{"metrics":[{"key":"k","value":1,"timestamp":01}]}"#, "leading zero"),
        ("{\"run_id\":\"a\u{1}b\"}", "control character"),
        (#"{"run_id":"x",}"#, "not valid JSON"),
    ])
    func refusesWhatIsNotValidNamingTheField(_ body: String, _ mention: String) {
        #expect {
            _ = try LogBatchRequest(json: Data(body.utf8))
        } throws: { error in
            guard let error = error as? MLflowError else { return false }
            return error.code == .invalidParameterValue && error.message.contains(mention)
        }
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        var bytes = Array(#"{"run_id":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: Data(bytes)) }
        bytes = Array(#"{"x":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: Data(bytes)) }
    }

    /// Every prefix of a valid body is refused cleanly: no crash, no partial request.
    @Test func everyTruncationIsAnError() throws {
        let body = Data(
            #"{"run_id":"r","metrics":[{"key":"k\u00e9","value":-1.5e-3,"timestamp":12,"step":3}],"params":[{"key":"p","value":"v"}],"tags":[]}"#
                .utf8)
        _ = try LogBatchRequest(json: body)
        for cut in 0..<body.count {
            #expect(throws: MLflowError.self) { _ = try LogBatchRequest(json: body.prefix(cut)) }
        }
    }

    @Test func moreThanTheLimitIsCountedNotKept() {
        let metrics = Array(repeating: #"{"key":"k","value":1,"timestamp":1}"#, count: 1500).joined(separator: ",")
        #expect {
            _ = try LogBatchRequest(json: Data(#"{"metrics":[\#(metrics)]}"#.utf8))
        } throws: { error in
            (error as? MLflowError)?.message.contains("at most 1000 metrics. Got 1500 metrics") == true
        }
    }
}

@Suite struct JSONWriterTests {
    /// Metric lists written by `JSONWriter` parse (with Foundation's decoder) to exactly what
    /// went in: every double bit for bit, non-finite ones as MLflow's strings, keys with escapes.
    @Test(arguments: [7, 8, 9])
    func metricListsReadBackExactly(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let keys = ["loss", "quote\"back\\slash", "ctl\u{1}\u{1f}", "tab\tnew\nline\r", "ünï 🚀", "/slash"]
        let metrics = (0..<500).map { i -> WireMetric in
            var value = Double(bitPattern: random.next())
            if i % 50 == 0 { value = [.nan, .infinity, -.infinity, -0.0, 1e16, .leastNonzeroMagnitude][i / 50 % 6] }
            return WireMetric(
                key: keys[i % keys.count], value: value, timestamp: Int64(bitPattern: random.next()),
                step: Int64(bitPattern: random.next()), run_id: i % 2 == 0 ? "r\(i)" : nil)
        }
        var writer = JSONWriter()
        MetricsResponse(metrics: metrics, next_page_token: "tok/en").write(to: &writer)
        struct Decoded: Decodable {
            let metrics: [WireMetric]
            let next_page_token: String?
        }
        let decoded = try WireCoding.decoder().decode(Decoded.self, from: Data(writer.bytes))
        #expect(decoded.next_page_token == "tok/en")
        #expect(decoded.metrics.count == metrics.count)
        for (got, want) in zip(decoded.metrics, metrics) {
            #expect(got.key == want.key)
            #expect(got.value.bitPattern == want.value.bitPattern || (got.value.isNaN && want.value.isNaN))
            #expect(got.timestamp == want.timestamp)
            #expect(got.step == want.step)
            #expect(got.run_id == want.run_id)
        }
        let empty = { () -> [UInt8] in
            var writer = JSONWriter()
            MetricsResponse(metrics: [], next_page_token: nil).write(to: &writer)
            return writer.bytes
        }()
        #expect(String(decoding: empty, as: UTF8.self) == #"{"metrics":[]}"#)
    }
}

extension JSONWriterTests {
    /// Runs written by `JSONWriter` are the same JSON as `JSONEncoder` writes for them.
    @Test func runsAreTheSameJSONAsTheEncoderWrites() async throws {
        let harness = try ServerHarness()
        let store = harness.store
        try await harness.test { client in
            let (_, run) = try await client.makeRun("exp", name: "quote\" back\\slash ünï")
            try await client.post(
                "runs/log-batch",
                [
                    "run_id": run, "params": [["key": "lr", "value": "0.1"]],
                    "tags": [["key": "t", "value": "a\nb\u{1}\t"]],
                    "metrics": [["key": "loss", "value": 0.25, "timestamp": 5, "step": 3]],
                ])
            try await client.post(
                "runs/log-inputs",
                [
                    "run_id": run,
                    "datasets": [
                        [
                            "tags": [["key": "mlflow.data.context", "value": "training"]],
                            "dataset": [
                                "name": "toy", "digest": "d", "source_type": "local", "source": "{\"uri\": \"x\"}",
                            ],
                        ]
                    ],
                ])
            try await client.post("runs/update", ["run_id": run, "status": "FINISHED", "end_time": 99])
            try await client.post("runs/create", ["experiment_id": "0"])  // no end time, no inputs
            let runs = store.runs().map(WireRun.init)
            #expect(runs.count == 2)
            let response = SearchRunsResponse(runs: runs, next_page_token: "t")
            let encoded = try JSONSerialization.jsonObject(with: try WireCoding.encoder().encode(response))
            var writer = JSONWriter()
            response.write(to: &writer)
            let ours = try JSONSerialization.jsonObject(with: Data(writer.bytes))
            #expect((ours as? NSDictionary) == (encoded as? NSDictionary))
            #expect((ours as? NSDictionary)?.count == 2)
        }
    }
}

extension JSONWriterTests {
    /// Numbers are written as the standard library writes them: a double's shortest exact text
    /// (`description`, for random bit patterns and the edges of the range), an integer's digits.
    @Test func numbersAreWrittenAsTheirDescriptions() throws {
        var random = SeededRandom(seed: 11)
        var doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e16, 1e-7, .leastNonzeroMagnitude, -Double.leastNormalMagnitude,
            .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude, 0.9560342718892494, 123456789012345680,
        ]
        doubles += (0..<20_000).map { _ in Double(bitPattern: random.next()) }.filter(\.isFinite)
        var integers: [Int64] = [0, -1, 1, 9, 10, 99, 100, 101, 999, 1000, .max, .min, .min + 1, 1_700_000_000_000]
        for digits in 1...18 {
            let power = (0..<digits).reduce(Int64(1)) { value, _ in value * 10 }
            integers += [power - 1, power, power + 1, -power, -(power - 1)]
        }
        integers += (0..<20_000).map { _ in Int64(bitPattern: random.next()) >> (random.next() % 64) }
        var writer = JSONWriter()
        for value in doubles {
            writer.double(value)
            writer.raw(" ")
        }
        for value in integers {
            writer.int(value)
            writer.raw(" ")
        }
        let written = String(decoding: writer.bytes, as: UTF8.self).split(separator: " ").map(String.init)
        let expected = doubles.map(\.description) + integers.map(\.description)
        #expect(written.count == expected.count)
        for (got, want) in zip(written, expected) where got != want {
            Issue.record("wrote \(got), the standard library writes \(want)")
            break
        }
        var special = JSONWriter()
        for value in [Double.nan, .infinity, -.infinity] { special.double(value) }
        #expect(String(decoding: special.bytes, as: UTF8.self) == #""NaN""Infinity""-Infinity""#)
    }
}
