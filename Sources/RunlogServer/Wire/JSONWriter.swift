import NIOCore

/// Writes JSON straight into bytes, for the answers that carry thousands of values (metric
/// histories, run listings), where `JSONEncoder` cost several microseconds a value. Doubles are
/// written in their shortest exact form, non-finite ones as MLflow's strings; strings escaped as
/// RFC 8259 requires (quote, backslash, control characters), the rest of UTF-8 as it is.
struct JSONWriter {
    /// What has been written; it becomes the response body as it is.
    private(set) var buffer: ByteBuffer

    /// The bytes written (a copy, for tests).
    var bytes: [UInt8] { Array(buffer.readableBytesView) }

    init(capacity: Int = 256) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Writes with `body` into room for at least `room` bytes, which `body` must not exceed: one
    /// capacity check for many small writes (a metric's fields), where appending each piece to
    /// an array cost more than formatting it.
    @inline(__always)
    mutating func write(room: Int, _ body: (inout ByteCursor) -> Void) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { raw in
            var cursor = ByteCursor(raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            body(&cursor)
            return cursor.count
        }
    }

    mutating func raw(_ text: StaticString) { buffer.writeStaticString(text) }

    mutating func string(_ text: String) { write(room: ByteCursor.room(text)) { $0.string(text) } }

    mutating func int(_ value: Int64) { write(room: ByteCursor.intRoom) { $0.int(value) } }

    mutating func double(_ value: Double) { write(room: ByteCursor.doubleRoom) { $0.double(value) } }

    /// `"key":` — a field's name, with a comma before it unless it is the object's first.
    mutating func field(_ name: StaticString, first: Bool = false) {
        write(room: ByteCursor.fieldRoom(name)) { $0.field(name, first: first) }
    }
}

/// Writes JSON pieces into memory the caller has sized (`JSONWriter.write(room:)`), with no
/// checks of its own: each piece has a `room` it stays within.
struct ByteCursor: TextOutputStream {
    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>) {
        self.base = base
    }

    /// Room for `string(text)`: every byte escaped as `\u00XX` at worst, and the quotes.
    static func room(_ text: String) -> Int { text.utf8.count * 6 + 2 }
    /// Room for `field(name)`: a comma, the quoted name and a colon.
    static func fieldRoom(_ name: StaticString) -> Int { name.utf8CodeUnitCount + 4 }
    /// An Int64 takes at most 20 bytes, its sign included.
    static let intRoom = 20
    /// A double's shortest form takes at most 24 bytes (`-2.2250738585072014e-308`), MLflow's
    /// `"-Infinity"` 11.
    static let doubleRoom = 32

    @inline(__always)
    mutating func byte(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func raw(_ text: StaticString) {
        (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    mutating func string(_ text: String) {
        byte(UInt8(ascii: "\""))
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
                    self.byte(Self.hex[Int(byte >> 4)])
                    self.byte(Self.hex[Int(byte & 0xF)])
                default: self.byte(byte)
                }
            }
        }
        byte(UInt8(ascii: "\""))
    }

    mutating func int(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var scale: UInt64 = 10
        while digits < 20, magnitude >= scale {
            digits += 1
            if digits < 20 { scale &*= 10 }
        }
        var i = count + digits
        count = i
        // Two digits a division, from the right.
        Self.digitPairs.withUnsafeBufferPointer { pairs in
            while magnitude >= 100 {
                let pair = Int(magnitude % 100) &* 2
                magnitude /= 100
                i -= 2
                base[i] = pairs[pair]
                base[i + 1] = pairs[pair + 1]
            }
            if magnitude >= 10 {
                let pair = Int(magnitude) &* 2
                base[i - 2] = pairs[pair]
                base[i - 1] = pairs[pair + 1]
            } else {
                base[i - 1] = UInt8(ascii: "0") + UInt8(magnitude)
            }
        }
    }

    /// "00", "01", … "99", back to back.
    private static let digitPairs: [UInt8] = (0..<100).flatMap {
        [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)]
    }

    mutating func double(_ value: Double) {
        if value.isNaN {
            raw(#""NaN""#)
        } else if value.isInfinite {
            value < 0 ? raw(#""-Infinity""#) : raw(#""Infinity""#)
        } else {
            // The standard library's shortest text that reads back as the same double (what
            // `description` is), written through `_writeASCII` below without making a String.
            value.write(to: &self)
        }
    }

    /// `"key":` — a field's name, with a comma before it unless it is the object's first.
    mutating func field(_ name: StaticString, first: Bool = false) {
        if !first { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        raw(name)
        raw(#"":"#)
    }

    // TextOutputStream, for `Double.write(to:)` only (its text is within `doubleRoom`).
    mutating func write(_ string: String) {
        for byte in string.utf8.prefix(Self.doubleRoom) { self.byte(byte) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        let length = min(buffer.count, Self.doubleRoom)
        (base + count).update(from: buffer.baseAddress!, count: length)
        count += length
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

/// An answer that writes itself with `JSONWriter` instead of `Encodable`.
protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension WireMetric {
    /// Room for `write(to:)`.
    var room: Int {
        2 + ByteCursor.fieldRoom("key") + ByteCursor.room(key) + ByteCursor.fieldRoom("value")
            + ByteCursor.doubleRoom + ByteCursor.fieldRoom("timestamp") + ByteCursor.fieldRoom("step")
            + 2 * ByteCursor.intRoom + (run_id.map { ByteCursor.fieldRoom("run_id") + ByteCursor.room($0) } ?? 0)
    }

    /// `{"key","value","timestamp","step"[,"run_id"]}`.
    func write(to cursor: inout ByteCursor) {
        cursor.raw(#"{"key":"#)
        cursor.string(key)
        cursor.raw(#","value":"#)
        cursor.double(value)
        cursor.raw(#","timestamp":"#)
        cursor.int(timestamp)
        cursor.raw(#","step":"#)
        cursor.int(step)
        if let run_id {
            cursor.raw(#","run_id":"#)
            cursor.string(run_id)
        }
        cursor.byte(UInt8(ascii: "}"))
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
            write(room: 1 + metric.room) { cursor in
                if i > 0 { cursor.byte(UInt8(ascii: ",")) }
                metric.write(to: &cursor)
            }
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
        writer.raw(#"],"model_inputs":["#)
        for (i, input) in inputs.model_inputs.enumerated() {
            writer.raw(i == 0 ? "{" : ",{")
            writer.field("model_id", first: true)
            writer.string(input.model_id)
            writer.raw("}")
        }
        writer.raw(#"]},"outputs":{"model_outputs":["#)
        for (i, output) in outputs.model_outputs.enumerated() {
            writer.raw(i == 0 ? "{" : ",{")
            writer.field("model_id", first: true)
            writer.string(output.modelID)
            writer.field("step")
            writer.int(output.step)
            writer.raw("}")
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
