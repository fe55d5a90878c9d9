import ArgumentParser
import Foundation
import Runlog
import Synchronization

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a run and log the points read from stdin, as JSON Lines or CSV.",
        discussion: """
            JSON Lines: {"key": "loss", "value": 0.31, "step": 12, "timestamp": 1700000000000}, step and \
            timestamp optional (step 0, timestamp now), other members ignored; values are decimal or \
            "NaN", "Infinity", "-Infinity" (no hexadecimal). \
            CSV: key,step,value[,timestamp], an optional header row first. The format is the first \
            line's: "{" means JSON Lines. A bad line is reported with its number on stderr and skipped \
            (--strict stops at it, exit 1); so is a line longer than 1 MiB. The run finishes FINISHED at \
            the end of input, KILLED on SIGINT or SIGTERM; what was read is flushed at least every \
            second, also while the input is idle.
            """)
    @OptionGroup var store: StoreOptionsGroup
    @Option(help: "The experiment (created when missing).") var experiment: String
    @Option(name: .customLong("run-name"), help: "The run's name (default: a generated one).") var runName: String?
    @Option(name: .customLong("param"), help: "A param, key=value (repeatable).") var params: [String] = []
    @Option(name: .customLong("tag"), help: "A tag, key=value (repeatable).") var tags: [String] = []
    @Flag(help: "Stop at the first bad line.") var strict = false
    @Option(
        name: .customLong("max-keys"),
        help: "The most distinct metric keys the run may get; a line with one more is a bad line.")
    var maxKeys = 100_000

    /// The longest line read; a longer one is a bad line (its bytes are not kept).
    static let maxLineBytes = 1 << 20

    func validate() throws {
        guard maxKeys >= 1 else { throw ValidationError("--max-keys must be at least 1") }
        _ = try pairs(params, "--param")
        _ = try pairs(tags, "--tag")
    }

    func run() throws {
        let store = try self.store.open(create: true)
        let run = try store.startRun(
            in: try store.experiment(named: experiment), name: runName, params: try pairs(params, "--param"),
            tags: try pairs(tags, "--tag"))
        let interrupted = SignalFlag.install()
        var parser = LineParser()
        var metrics: [String: Metric] = [:]
        var lineNumber = 0
        var bad = 0
        var logged = 0
        var lastFlush = DispatchTime.now().uptimeNanoseconds
        var flushed = 0
        var buffer = [UInt8](repeating: 0, count: Self.maxLineBytes)
        var carry: [UInt8] = []
        // A line that outgrew maxLineBytes: its bytes are dropped up to its newline.
        var overlong = false
        func fail(_ message: String) throws {
            bad += 1
            FileHandle.standardError.write(Data("line \(lineNumber): \(TextSafety.forTerminal(message))\n".utf8))
            if strict {
                try run.finish(.failed)
                throw ExitCode(1)
            }
        }
        func skipOverlong() throws {
            lineNumber += 1
            overlong = false
            try fail("longer than \(Self.maxLineBytes) bytes, skipped")
        }
        func flush() throws {
            try run.flush()
            flushed = logged
            lastFlush = DispatchTime.now().uptimeNanoseconds
        }
        func handle(_ line: ArraySlice<UInt8>) throws {
            lineNumber += 1
            guard !line.isEmpty else { return }
            do {
                guard let point = try parser.parse(line) else { return }  // a CSV header
                let metric: Metric
                if let known = metrics[point.key] {
                    metric = known
                } else {
                    // Each key costs memory in the writer and the index: bounded per run.
                    guard metrics.count < maxKeys else {
                        throw LineError("the run has \(maxKeys) distinct keys already (--max-keys); key not logged")
                    }
                    metric = try run.metric(point.key)
                    metrics[point.key] = metric
                }
                try run.log(
                    metric, point.value, step: point.step, timestamp: point.timestamp ?? currentTimeMilliseconds())
                logged += 1
            } catch let exit as ExitCode {
                throw exit
            } catch {
                try fail("\(error)")
            }
        }
        reading: while true {
            // Waits at most a second for input, so what was read is flushed while the input idles.
            var ready = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, 1000)
            if interrupted.isSet { break reading }
            if polled == 0 {
                if logged > flushed { try flush() }
                continue
            }
            if polled < 0 {
                if errno == EINTR { continue }
                throw CLIError("waiting for stdin: \(String(cString: strerror(errno)))")
            }
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if interrupted.isSet { break reading }
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIError("reading stdin: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            var start = 0
            for i in 0..<count where buffer[i] == UInt8(ascii: "\n") {
                if overlong {
                    try skipOverlong()
                } else if carry.isEmpty {
                    try handle(buffer[start..<i])
                } else {
                    carry.append(contentsOf: buffer[start..<i])
                    try handle(carry[...])
                    carry.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            if !overlong {
                carry.append(contentsOf: buffer[start..<count])
                if carry.count > Self.maxLineBytes {
                    overlong = true
                    carry = []
                }
            }
            if DispatchTime.now().uptimeNanoseconds - lastFlush >= 1_000_000_000 { try flush() }
        }
        if overlong {
            try skipOverlong()
        } else if !interrupted.isSet, !carry.isEmpty {
            try handle(carry[...])
        }
        try run.finish(interrupted.isSet ? .killed : .finished)
        FileHandle.standardError.write(
            Data(
                "run \(run.id) (\(TextSafety.forTerminal(run.name))): \(logged) points\(bad > 0 ? ", \(bad) bad lines skipped" : "")\(interrupted.isSet ? ", interrupted: KILLED" : "")\n"
                    .utf8))
    }
}

func pairs(_ items: [String], _ option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw ValidationError("\(option) wants key=value, got \"\(item)\"")
        }
        result[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return result
}

/// Set by SIGINT or SIGTERM; the handler is installed without SA_RESTART, so a blocked read(2)
/// returns and the loop sees the flag.
final class SignalFlag: Sendable {
    private static let flag = Atomic<Bool>(false)
    var isSet: Bool { SignalFlag.flag.load(ordering: .relaxed) }

    static func install() -> SignalFlag {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in SignalFlag.flag.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        return SignalFlag()
    }
}

struct IngestPoint {
    var key: String
    var value: Double
    var step: Int64
    var timestamp: Int64?
}

struct LineError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses CSV (`key,step,value[,timestamp]`) or flat JSON objects, byte by byte.
struct LineParser {
    enum Format { case csv, json }
    var format: Format?

    mutating func parse(_ line: ArraySlice<UInt8>) throws -> IngestPoint? {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if format == nil {
            format = line.first(where: { $0 != UInt8(ascii: " ") }) == UInt8(ascii: "{") ? .json : .csv
            if format == .csv, String(decoding: line, as: UTF8.self).lowercased().hasPrefix("key,step,value") {
                return nil
            }
        }
        return format == .json ? try parseJSON(line) : try parseCSV(line)
    }

    private func parseCSV(_ line: ArraySlice<UInt8>) throws -> IngestPoint {
        let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == 3 || fields.count == 4 else {
            throw LineError("expected key,step,value[,timestamp], got \(fields.count) fields")
        }
        guard let step = integer(fields[1]) else {
            throw LineError("step \"\(String(decoding: fields[1], as: UTF8.self))\" is not an integer")
        }
        guard let value = number(fields[2]) else {
            throw LineError("value \"\(String(decoding: fields[2], as: UTF8.self))\" is not a number")
        }
        try checkRange(value, fields[2])
        var timestamp: Int64?
        if fields.count == 4, !fields[3].isEmpty {
            guard let time = integer(fields[3]) else {
                throw LineError("timestamp \"\(String(decoding: fields[3], as: UTF8.self))\" is not an integer")
            }
            timestamp = time
        }
        return IngestPoint(
            key: String(decoding: fields[0], as: UTF8.self), value: value, step: step, timestamp: timestamp)
    }

    /// A flat JSON object with string or number members; unknown members are ignored.
    private func parseJSON(_ line: ArraySlice<UInt8>) throws -> IngestPoint {
        var scanner = JSONScanner(bytes: line)
        try scanner.expect(UInt8(ascii: "{"))
        var key: String?
        var value: Double?
        var step: Int64 = 0
        var timestamp: Int64?
        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                let name = try scanner.string()
                try scanner.expect(UInt8(ascii: ":"))
                switch name {
                case "key": key = try scanner.string()
                case "value":
                    if scanner.peek == UInt8(ascii: "\"") {
                        let text = try scanner.string()
                        guard let special = ["NaN": Double.nan, "Infinity": .infinity, "-Infinity": -.infinity][text]
                        else {
                            throw LineError("value \"\(text)\" is not a number")
                        }
                        value = special
                    } else {
                        let start = scanner.index
                        let number = try scanner.number()
                        try checkRange(number, line[start..<scanner.index])
                        value = number
                    }
                case "step": step = try scanner.integer("step")
                case "timestamp": timestamp = try scanner.integer("timestamp")
                default: try scanner.skipValue()
                }
            } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"))
        }
        guard scanner.atEnd else { throw LineError("text after the JSON object") }
        guard let key else { throw LineError("no \"key\"") }
        guard let value else { throw LineError("no \"value\"") }
        return IngestPoint(key: key, value: value, step: step, timestamp: timestamp)
    }

    /// A written-out number too large for a double reads as infinity: refused, since infinity
    /// has its own spelling ("Infinity", "inf").
    private func checkRange(_ value: Double, _ text: ArraySlice<UInt8>) throws {
        guard value.isInfinite else { return }
        let word = String(decoding: text, as: UTF8.self).lowercased().trimmingPrefix { $0 == "-" || $0 == "+" }
        guard !word.hasPrefix("inf") else { return }
        throw LineError(
            "value \"\(String(decoding: text, as: UTF8.self))\" is beyond the range of a double; write Infinity for infinity"
        )
    }

    /// A decimal number, or NaN / Infinity / -Infinity (as JSON Lines spells them); strtod alone
    /// would also take hexadecimal (`0x10`) and leading spaces, which are not numbers here.
    private func number(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard !bytes.isEmpty, bytes.count < 64 else { return nil }
        guard let first = bytes.first,
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "N") || first == UInt8(ascii: "I")
                || first == UInt8(ascii: "n") || first == UInt8(ascii: "i"),
            !bytes.contains(where: { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") })
        else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count + 1)
        for (i, byte) in bytes.enumerated() { text[i] = CChar(bitPattern: byte) }
        return text.withUnsafeMutableBufferPointer { buffer -> Double? in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == bytes.count else { return nil }
            return value
        }
    }
}

/// A decimal integer, exactly, over the whole of Int64 (`-9223372036854775808` included); nil
/// when it is not one or does not fit.
func integer(_ bytes: ArraySlice<UInt8>) -> Int64? {
    var result: Int64 = 0
    var index = bytes.startIndex
    let negative = index < bytes.endIndex && bytes[index] == UInt8(ascii: "-")
    if negative { index += 1 }
    guard index < bytes.endIndex else { return nil }
    while index < bytes.endIndex {
        let digit = bytes[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        // Accumulated on the side of the sign, so that Int64.min fits.
        let (times, o1) = result.multipliedReportingOverflow(by: 10)
        let (next, o2) =
            negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
        guard !o1, !o2 else { return nil }
        result = next
        index += 1
    }
    return result
}

/// Just enough JSON for flat objects of strings and numbers.
struct JSONScanner {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
        skipSpace()
    }

    var atEnd: Bool { index == bytes.endIndex }
    var peek: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    mutating func skipSpace() {
        while index < bytes.endIndex, [0x20, 0x09, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        skipSpace()
        return true
    }

    mutating func expect(_ byte: UInt8) throws {
        guard consume(byte) else {
            throw LineError("expected '\(Character(Unicode.Scalar(byte)))' at column \(index - bytes.startIndex + 1)")
        }
    }

    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while let byte = peek, byte != UInt8(ascii: "\"") {
            index += 1
            if byte == UInt8(ascii: "\\") {
                guard let escaped = peek else { break }
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.endIndex,
                        let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else { throw LineError("bad \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    index += 4
                default: out.append(escaped)
                }
            } else {
                out.append(byte)
            }
        }
        guard consume(UInt8(ascii: "\"")) else { throw LineError("unterminated string") }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func number() throws -> Double {
        let start = index
        while let byte = peek,
            byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || (byte >= 0x30 && byte <= 0x39)
        {
            index += 1
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw LineError("expected a number at column \(start - bytes.startIndex + 1)")
        }
        skipSpace()
        return value
    }

    /// An integer member: digits read exactly (a double would round past 2^53); a number with a
    /// fraction or exponent is taken when it is a whole number within Int64.
    mutating func integer(_ name: String) throws -> Int64 {
        let start = index
        let number = try self.number()
        var end = index
        while end > start, [0x20, 0x09, 0x0D].contains(bytes[end - 1]) { end -= 1 }
        if let exact = RunlogCLI.integer(bytes[start..<end]) { return exact }
        guard let whole = Int64(exactly: number) else {
            throw LineError("\(name) \(String(decoding: bytes[start..<end], as: UTF8.self)) is not an integer in range")
        }
        return whole
    }

    /// The deepest array or object skipped inside an unknown member.
    static let maxSkippedDepth = 64

    mutating func skipValue(depth: Int = 0) throws {
        if peek == UInt8(ascii: "[") || peek == UInt8(ascii: "{") {
            // An unknown member holding an array or object: skipped whole, as the README says.
            guard depth < Self.maxSkippedDepth else {
                throw LineError("arrays and objects nested deeper than \(Self.maxSkippedDepth)")
            }
            let object = peek == UInt8(ascii: "{")
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipSpace()
            if consume(close) { return }
            repeat {
                if object {
                    _ = try string()
                    try expect(UInt8(ascii: ":"))
                }
                try skipValue(depth: depth + 1)
            } while consume(UInt8(ascii: ","))
            try expect(close)
        } else if peek == UInt8(ascii: "\"") {
            _ = try string()
        } else if peek == UInt8(ascii: "t") || peek == UInt8(ascii: "f") || peek == UInt8(ascii: "n") {
            while let byte = peek, byte >= 0x61 && byte <= 0x7A { index += 1 }
            skipSpace()
        } else {
            _ = try number()
        }
    }
}
