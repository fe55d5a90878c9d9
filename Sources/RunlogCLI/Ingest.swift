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
            CSV: key,step,value[,timestamp], a header row (key,step,value…) skipped. Each line is \
            read by its own shape ("{" starts JSON), so the two may be mixed. A line that is not a \
            metric line is reported with its number on stderr and skipped — or, with --passthrough, \
            written to stdout, so a training script's own output can share the pipe; a metric line \
            with a bad value, step or timestamp is always an error, never a point (--strict stops at \
            the first error, exit 1); so is a line longer than 1 MiB. The run finishes FINISHED at the \
            end of input; on SIGINT or SIGTERM it is KILLED, kept, and ingest exits 130 or 143. What \
            was read is flushed at least every second, also while the input is idle.
            """)
    @OptionGroup var store: StoreOptionsGroup
    @Option(help: "The experiment (created when missing).") var experiment: String
    @Option(name: .customLong("run-name"), help: "The run's name (default: a generated one).") var runName: String?
    @Option(name: .customLong("param"), help: "A param, key=value (repeatable).") var params: [String] = []
    @Option(name: .customLong("tag"), help: "A tag, key=value (repeatable).") var tags: [String] = []
    @Flag(help: "Stop at the first bad line.") var strict = false
    @Flag(help: "Write lines that are not metric lines to stdout instead of reporting them.") var passthrough = false
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
        var session = IngestSession(run: run, strict: strict, passthrough: passthrough, maxKeys: maxKeys)
        try session.read(interrupted)
        try run.finish(interrupted.isSet ? .killed : .finished)
        let bad = session.bad > 0 ? ", \(session.bad) bad lines skipped" : ""
        FileHandle.standardError.write(
            Data(
                "run \(run.id) (\(TextSafety.forTerminal(run.name))): \(session.logged) points\(bad)\(interrupted.isSet ? ", interrupted: KILLED" : "")\n"
                    .utf8))
        // As a shell reports a process a signal stopped: 128 + the signal.
        if let signal = interrupted.signal { throw ExitCode(128 + signal) }
    }
}

/// One `ingest`: reads stdin a chunk at a time, splits it into lines, parses and logs each.
private struct IngestSession {
    let run: ActiveRun
    let strict: Bool
    let passthrough: Bool
    let maxKeys: Int
    var parser = LineParser()
    var metrics = MetricTable()
    var lineNumber = 0
    var bad = 0
    var logged = 0
    var flushed = 0
    var lastFlush = DispatchTime.now().uptimeNanoseconds
    /// Lines passed through, written out once per chunk read.
    var output: [UInt8] = []

    init(run: ActiveRun, strict: Bool, passthrough: Bool, maxKeys: Int) {
        self.run = run
        self.strict = strict
        self.passthrough = passthrough
        self.maxKeys = maxKeys
    }

    mutating func read(_ interrupted: SignalFlag) throws {
        var buffer = [UInt8](repeating: 0, count: Ingest.maxLineBytes)
        var carry: [UInt8] = []
        // A line that outgrew maxLineBytes: its bytes are dropped up to its newline.
        var overlong = false
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
            let count = buffer.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if interrupted.isSet { break reading }
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIError("reading stdin: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            var start = 0
            while start < count {
                // memchr finds the next newline far faster than a loop over the bytes.
                let found = buffer.withUnsafeBytes { bytes -> Int? in
                    guard let hit = memchr(bytes.baseAddress! + start, 0x0A, count - start) else { return nil }
                    return bytes.baseAddress!.distance(to: UnsafeRawPointer(hit))
                }
                guard let newline = found else { break }
                if overlong {
                    try skipOverlong()
                    overlong = false
                } else if carry.isEmpty {
                    try handle(buffer[start..<newline])
                } else {
                    carry.append(contentsOf: buffer[start..<newline])
                    try handle(carry[...])
                    carry.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
            if !overlong && start < count {
                carry.append(contentsOf: buffer[start..<count])
                if carry.count > Ingest.maxLineBytes {
                    overlong = true
                    carry = []
                }
            }
            writeOutput()
            if DispatchTime.now().uptimeNanoseconds - lastFlush >= 1_000_000_000 { try flush() }
        }
        if overlong {
            try skipOverlong()
        } else if !interrupted.isSet, !carry.isEmpty {
            try handle(carry[...])
        }
        writeOutput()
    }

    private mutating func fail(_ message: String) throws {
        bad += 1
        FileHandle.standardError.write(Data("line \(lineNumber): \(TextSafety.forTerminal(message))\n".utf8))
        if strict {
            writeOutput()
            try run.finish(.failed)
            throw ExitCode(1)
        }
    }

    private mutating func skipOverlong() throws {
        lineNumber += 1
        try fail("longer than \(Ingest.maxLineBytes) bytes, skipped")
    }

    private mutating func flush() throws {
        try run.flush()
        flushed = logged
        lastFlush = DispatchTime.now().uptimeNanoseconds
    }

    private mutating func writeOutput() {
        guard !output.isEmpty else { return }
        output.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(STDOUT_FILENO, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                done += n
            }
        }
        output.removeAll(keepingCapacity: true)
    }

    private mutating func handle(_ line: ArraySlice<UInt8>) throws {
        lineNumber += 1
        guard !line.isEmpty else { return }
        do {
            switch try parser.parse(line) {
            case .header: return
            case .other(let why):
                if passthrough {
                    output.append(contentsOf: line)
                    output.append(0x0A)
                } else {
                    try fail(why)
                }
            case .point(let point):
                let metric: Metric
                if let range = point.keyRange {
                    metric = try line.withUnsafeBufferPointer { bytes in
                        try metrics.metric(UnsafeBufferPointer(rebasing: bytes[range]), run: run, maxKeys: maxKeys)
                    }
                } else {
                    var key = point.keyText ?? ""
                    metric = try key.withUTF8 { try metrics.metric($0, run: run, maxKeys: maxKeys) }
                }
                try run.log(
                    metric, point.value, step: point.step, timestamp: point.timestamp ?? currentTimeMilliseconds())
                logged += 1
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try fail("\(error)")
        }
    }
}

/// The run's metrics by the bytes of their keys: a lookup hashes and compares bytes, with no
/// String made per line. Open addressing, grown at half full; at most `maxKeys` entries.
private struct MetricTable {
    private var slots: [(hash: UInt64, key: [UInt8], metric: Metric)?] = Array(repeating: nil, count: 64)
    private(set) var count = 0
    /// The last key found: consecutive lines of one key skip the hash.
    private var last: Int?

    mutating func metric(_ key: UnsafeBufferPointer<UInt8>, run: ActiveRun, maxKeys: Int) throws -> Metric {
        if let last, let entry = slots[last], MetricTable.equal(entry.key, key) { return entry.metric }
        let hash = MetricTable.hash(key)
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while let entry = slots[index] {
            if entry.hash == hash && MetricTable.equal(entry.key, key) {
                last = index
                return entry.metric
            }
            index = (index + 1) & mask
        }
        // Each key costs memory in the writer and the index: bounded per run.
        guard count < maxKeys else {
            throw LineError("the run has \(maxKeys) distinct keys already (--max-keys); key not logged")
        }
        let metric = try run.metric(String(decoding: key, as: UTF8.self))
        slots[index] = (hash, Array(key), metric)
        count += 1
        last = index
        if count * 2 > slots.count { grow() }
        return metric
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        let mask = slots.count - 1
        for case let entry? in old {
            var index = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[index] != nil { index = (index + 1) & mask }
            slots[index] = entry
        }
        last = nil
    }

    /// FNV-1a, 64 bits: keys are the program's own, not an attacker's chosen collisions (a
    /// collision costs a probe, and the table is bounded by --max-keys).
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    private static func equal(_ stored: [UInt8], _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == key.count else { return false }
        guard let base = key.baseAddress, !key.isEmpty else { return true }
        return stored.withUnsafeBytes { memcmp($0.baseAddress!, base, key.count) == 0 }
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

/// Set by SIGINT or SIGTERM; the handler is installed without SA_RESTART, so a blocked poll(2)
/// returns and the loop sees the flag (within its one-second timeout when another thread took
/// the signal).
final class SignalFlag: Sendable {
    private static let caught = Atomic<Int32>(0)
    var isSet: Bool { SignalFlag.caught.load(ordering: .relaxed) != 0 }
    /// The signal caught first, if any.
    var signal: Int32? {
        let number = SignalFlag.caught.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    static func install() -> SignalFlag {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            _ = SignalFlag.caught.compareExchange(expected: 0, desired: number, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may hand down a mask that blocks them (a test runner's thread does); ingest
        // means to see them.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        sigaddset(&wanted, SIGINT)
        sigaddset(&wanted, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        return SignalFlag()
    }
}

struct IngestPoint {
    /// Where the key is in the line (offsets from its first byte), for CSV; nil for JSON, whose
    /// escapes make `keyText`.
    var keyRange: Range<Int>?
    var keyText: String?
    var value: Double
    var step: Int64
    var timestamp: Int64?
}

/// What a line is.
enum ParsedLine {
    case point(IngestPoint)
    /// CSV's header row.
    case header
    /// Not a metric line at all — a training script's own output, say — and why.
    case other(String)
}

struct LineError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses a CSV (`key,step,value[,timestamp]`) or JSON Lines point, each line by its own shape.
/// A line shaped as a metric line (CSV: 3 or 4 fields, the second an integer; JSON: an object
/// with a "key") whose value, step or timestamp is bad throws; one not so shaped is `.other`.
struct LineParser {
    /// strtod's NUL-terminated copy of a number, reused line after line.
    private var scratch = [CChar](repeating: 0, count: 64)

    mutating func parse(_ line: ArraySlice<UInt8>) throws -> ParsedLine {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if line.first(where: { $0 != UInt8(ascii: " ") }) == UInt8(ascii: "{") { return try parseJSON(line) }
        return try parseCSV(line)
    }

    private mutating func parseCSV(_ line: ArraySlice<UInt8>) throws -> ParsedLine {
        try line.withUnsafeBufferPointer { try parseCSV(bytes: $0) }
    }

    private mutating func parseCSV(bytes: UnsafeBufferPointer<UInt8>) throws -> ParsedLine {
        // The commas, by memchr: key,step,value[,timestamp], and none after.
        var commas = (0, 0, 0)
        var found = 0
        if let base = bytes.baseAddress {
            var from = 0
            while found < 4, from <= bytes.count,
                let hit = memchr(base + from, Int32(UInt8(ascii: ",")), bytes.count - from)
            {
                let at = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                switch found {
                case 0: commas.0 = at
                case 1: commas.1 = at
                case 2: commas.2 = at
                default: break
                }
                found += 1
                from = at + 1
            }
        }
        guard found == 2 || found == 3 else {
            return .other(
                "expected key,step,value[,timestamp], got \(found > 3 ? "more than 4" : "\(found + 1)") fields")
        }
        let stepField = UnsafeBufferPointer(rebasing: bytes[(commas.0 + 1)..<commas.1])
        let valueField = UnsafeBufferPointer(rebasing: bytes[(commas.1 + 1)..<(found == 3 ? commas.2 : bytes.count)])
        guard let step = integer(stepField) else {
            if Self.isHeader(bytes) { return .header }
            return .other("step \"\(String(decoding: stepField, as: UTF8.self))\" is not an integer")
        }
        guard let value = DecimalText.quickDouble(valueField) ?? number(valueField) else {
            throw LineError("value \"\(String(decoding: valueField, as: UTF8.self))\" is not a number")
        }
        if value.isInfinite { try checkRange(value, valueField) }
        var timestamp: Int64?
        if found == 3 {
            let timeField = UnsafeBufferPointer(rebasing: bytes[(commas.2 + 1)...])
            if !timeField.isEmpty {
                guard let time = integer(timeField) else {
                    throw LineError("timestamp \"\(String(decoding: timeField, as: UTF8.self))\" is not an integer")
                }
                timestamp = time
            }
        }
        return .point(IngestPoint(keyRange: 0..<commas.0, value: value, step: step, timestamp: timestamp))
    }

    /// `key,step,value` or `key,step,value,timestamp`, in any case.
    private static func isHeader(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let text = String(decoding: line, as: UTF8.self).lowercased()
        return text == "key,step,value" || text == "key,step,value,timestamp"
    }

    /// A JSON object; unknown members are ignored. One that does not read as JSON, or has no
    /// "key", is not a metric line; a bad value, step or timestamp in one that has is an error.
    private func parseJSON(_ line: ArraySlice<UInt8>) throws -> ParsedLine {
        var scanner = JSONScanner(bytes: line)
        var key: String?
        var value: Double?
        var step: Int64 = 0
        var timestamp: Int64?
        var fieldError: LineError?
        do {
            try scanner.expect(UInt8(ascii: "{"))
            if !scanner.consume(UInt8(ascii: "}")) {
                repeat {
                    let name = try scanner.string()
                    try scanner.expect(UInt8(ascii: ":"))
                    do {
                        switch name {
                        case "key": key = try scanner.string()
                        case "value": value = try jsonValue(&scanner, line)
                        case "step": step = try scanner.integer("step")
                        case "timestamp": timestamp = try scanner.integer("timestamp")
                        default: try scanner.skipValue()
                        }
                    } catch let error as LineError where ["value", "step", "timestamp"].contains(name) {
                        // The member's value is bad: skip it to learn whether this is a metric line.
                        fieldError = fieldError ?? error
                        // A value read whole and refused leaves the scanner at what follows it.
                        if scanner.peek != UInt8(ascii: ",") && scanner.peek != UInt8(ascii: "}") {
                            try scanner.skipValue()
                        }
                    }
                } while scanner.consume(UInt8(ascii: ","))
                try scanner.expect(UInt8(ascii: "}"))
            }
            guard scanner.atEnd else { throw LineError("text after the JSON object") }
        } catch let error as LineError {
            return .other(fieldError.map { "\($0)" } ?? error.description)
        }
        guard let key else { return .other("no \"key\"") }
        if let fieldError { throw fieldError }
        guard let value else { throw LineError("no \"value\"") }
        return .point(IngestPoint(keyText: key, value: value, step: step, timestamp: timestamp))
    }

    private func jsonValue(_ scanner: inout JSONScanner, _ line: ArraySlice<UInt8>) throws -> Double {
        if scanner.peek == UInt8(ascii: "\"") {
            let text = try scanner.string()
            guard let special = ["NaN": Double.nan, "Infinity": .infinity, "-Infinity": -.infinity][text] else {
                throw LineError("value \"\(text)\" is not a number")
            }
            return special
        }
        let start = scanner.index
        let number = try scanner.number()
        if number.isInfinite {
            try line.withUnsafeBufferPointer { bytes in
                try checkRange(
                    number,
                    UnsafeBufferPointer(rebasing: bytes[(start - line.startIndex)..<(scanner.index - line.startIndex)]))
            }
        }
        return number
    }

    /// A written-out number too large for a double reads as infinity: refused, since infinity
    /// has its own spelling ("Infinity", "inf").
    private func checkRange(_ value: Double, _ text: UnsafeBufferPointer<UInt8>) throws {
        guard value.isInfinite else { return }
        let word = String(decoding: text, as: UTF8.self).lowercased().trimmingPrefix { $0 == "-" || $0 == "+" }
        guard !word.hasPrefix("inf") else { return }
        throw LineError(
            "value \"\(String(decoding: text, as: UTF8.self))\" is beyond the range of a double; write Infinity for infinity"
        )
    }

    /// A decimal number, or NaN / Infinity / -Infinity (as JSON Lines spells them); strtod alone
    /// would also take hexadecimal (`0x10`) and leading spaces, which are not numbers here.
    private mutating func number(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !bytes.isEmpty, bytes.count < scratch.count else { return nil }
        guard let first = bytes.first,
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "N") || first == UInt8(ascii: "I")
                || first == UInt8(ascii: "n") || first == UInt8(ascii: "i")
        else { return nil }
        return scratch.withUnsafeMutableBufferPointer { buffer -> Double? in
            for i in 0..<bytes.count {
                let byte = bytes[i]
                // strtod alone would take hexadecimal (`0x10`).
                if byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X") { return nil }
                buffer[i] = CChar(bitPattern: byte)
            }
            let count = bytes.count
            buffer[count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == count else { return nil }
            return value
        }
    }
}

/// A decimal integer, exactly, over the whole of Int64 (`-9223372036854775808` included); nil
/// when it is not one or does not fit.
func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard var cursor = bytes.baseAddress, !bytes.isEmpty else { return nil }
    let end = cursor + bytes.count
    let negative = cursor.pointee == UInt8(ascii: "-")
    if negative { cursor += 1 }
    guard cursor < end else { return nil }
    var result: Int64 = 0
    if end - cursor <= 18 {
        // Below 10^18: no overflow to check for.
        while cursor < end {
            let digit = cursor.pointee &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            result = result &* 10 &+ Int64(digit)
            cursor += 1
        }
        return negative ? -result : result
    }
    while cursor < end {
        let digit = cursor.pointee &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        // Accumulated on the side of the sign, so that Int64.min fits.
        let (times, o1) = result.multipliedReportingOverflow(by: 10)
        let (next, o2) =
            negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
        guard !o1, !o2 else { return nil }
        result = next
        cursor += 1
    }
    return result
}

func integer(_ bytes: ArraySlice<UInt8>) -> Int64? {
    bytes.withUnsafeBufferPointer { integer($0) }
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
        let quick = bytes.withUnsafeBufferPointer { whole in
            DecimalText.quickDouble(
                UnsafeBufferPointer(rebasing: whole[(start - bytes.startIndex)..<(index - bytes.startIndex)]))
        }
        guard let value = quick ?? Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
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
