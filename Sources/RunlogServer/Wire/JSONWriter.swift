/// Writes JSON straight into bytes, for the answers that carry thousands of values (metric
/// histories, run listings), where `JSONEncoder` cost several microseconds a value. Doubles are
/// written in their shortest exact form, non-finite ones as MLflow's strings; strings escaped as
/// RFC 8259 requires (quote, backslash, control characters), the rest of UTF-8 as it is.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): raw(#"\""#)
                case UInt8(ascii: "\\"): raw(#"\\"#)
                case UInt8(ascii: "\n"): raw(#"\n"#)
                case UInt8(ascii: "\r"): raw(#"\r"#)
                case UInt8(ascii: "\t"): raw(#"\t"#)
                case 0..<0x20:
                    raw(#"\u00"#)
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 0xF)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, written backwards
        let count = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            var i = 0
            repeat {
                buffer[19 - i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                i += 1
            } while magnitude > 0
            return i
        }
        withUnsafeBytes(of: &digits) { bytes.append(contentsOf: $0[(20 - count)..<20]) }
    }

    mutating func double(_ value: Double) {
        if value.isNaN {
            raw(#""NaN""#)
        } else if value.isInfinite {
            value < 0 ? raw(#""-Infinity""#) : raw(#""Infinity""#)
        } else {
            // `description` is the shortest text that reads back as the same double.
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// `"key":` — a field's name, with a comma before it unless it is the object's first.
    mutating func field(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw(#"":"#)
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

/// An answer that writes itself with `JSONWriter` instead of `Encodable`.
protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension WireMetric: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.field("key", first: true)
        writer.string(key)
        writer.field("value")
        writer.double(value)
        writer.field("timestamp")
        writer.int(timestamp)
        writer.field("step")
        writer.int(step)
        if let run_id {
            writer.field("run_id")
            writer.string(run_id)
        }
    }
}

extension MetricsResponse: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.raw(#"{"metrics":"#)
        writer.metrics(metrics)
        if let next_page_token {
            writer.field("next_page_token")
            writer.string(next_page_token)
        }
        writer.raw("}")
    }
}

extension JSONWriter {
    /// `[{"key","value"},…]`.
    mutating func pairs(_ pairs: [KeyValue]) {
        raw("[")
        for (i, pair) in pairs.enumerated() {
            raw(i == 0 ? "{" : ",{")
            field("key", first: true)
            string(pair.key)
            field("value")
            string(pair.value)
            raw("}")
        }
        raw("]")
    }

    /// `[{"key","value","timestamp","step"[,"run_id"]},…]`.
    mutating func metrics(_ metrics: [WireMetric]) {
        raw("[")
        for (i, metric) in metrics.enumerated() {
            raw(i == 0 ? "{" : ",{")
            metric.write(to: &self)
            raw("}")
        }
        raw("]")
    }

    mutating func optionalString(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        field(name)
        string(value)
    }
}

extension WireRunInfo: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.field("run_id", first: true)
        writer.string(run_id)
        writer.field("run_uuid")
        writer.string(run_uuid)
        writer.field("run_name")
        writer.string(run_name)
        writer.field("experiment_id")
        writer.string(experiment_id)
        writer.field("user_id")
        writer.string(user_id)
        writer.field("status")
        writer.string(status)
        if let start_time {
            writer.field("start_time")
            writer.int(start_time)
        }
        if let end_time {
            writer.field("end_time")
            writer.int(end_time)
        }
        writer.field("artifact_uri")
        writer.string(artifact_uri)
        writer.field("lifecycle_stage")
        writer.string(lifecycle_stage)
    }
}

extension WireRun: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.raw(#"{"info":{"#)
        info.write(to: &writer)
        writer.raw(#"},"data":{"metrics":"#)
        writer.metrics(data.metrics)
        writer.raw(#","params":"#)
        writer.pairs(data.params)
        writer.raw(#","tags":"#)
        writer.pairs(data.tags)
        writer.raw(#"},"inputs":{"dataset_inputs":["#)
        for (i, input) in inputs.dataset_inputs.enumerated() {
            writer.raw(i == 0 ? "{" : ",{")
            if let tags = input.tags {
                writer.raw(#""tags":"#)
                writer.pairs(tags)
                writer.raw(",")
            }
            let dataset = input.dataset
            writer.raw(#""dataset":{"#)
            writer.field("name", first: true)
            writer.string(dataset.name)
            writer.field("digest")
            writer.string(dataset.digest)
            writer.field("source_type")
            writer.string(dataset.source_type)
            writer.field("source")
            writer.string(dataset.source)
            writer.optionalString("schema", dataset.schema)
            writer.optionalString("profile", dataset.profile)
            writer.raw("}}")
        }
        writer.raw("]}}")
    }
}

extension RunResponse: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.raw(#"{"run":"#)
        run.write(to: &writer)
        writer.raw("}")
    }
}

extension SearchRunsResponse: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.raw(#"{"runs":["#)
        for (i, run) in runs.enumerated() {
            if i > 0 { writer.raw(",") }
            run.write(to: &writer)
        }
        writer.raw("]")
        writer.optionalString("next_page_token", next_page_token)
        writer.raw("}")
    }
}
