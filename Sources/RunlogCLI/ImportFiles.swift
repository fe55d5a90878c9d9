import Foundation
import Runlog

#if canImport(Glibc)
    import Glibc
#endif

/// Reading the files of an `mlruns` directory, which may be hostile: nothing is read without a
/// bound, links are never followed, and only regular files are opened (a FIFO would block).
enum ImportFile {
    /// The most a `meta.yaml`, a param or a tag file may hold (MLflow's values stay under 8,000
    /// characters; its meta.yaml files under a kilobyte).
    static let maxSmallFile = 1 << 20
    /// The longest line of a metric file ("timestamp value step" is under 80 bytes).
    static let maxMetricLine = 1024

    /// A regular file, opened without following a link.
    static func open(_ path: String) throws(RunlogError) -> (descriptor: Int32, size: Int) {
        let descriptor = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "a symbolic link, not followed" : String(cString: strerror(errno))
            throw RunlogError(.invalidArgument, "\(path): \(reason)")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw RunlogError(.invalidArgument, "\(path): not a regular file")
        }
        return (descriptor, Int(info.st_size))
    }

    /// The text of a small file: refused (before reading) when it is larger than `maxSmallFile`.
    static func text(of path: String) throws(RunlogError) -> String {
        let (descriptor, size) = try open(path)
        defer { close(descriptor) }
        guard size <= maxSmallFile else {
            throw RunlogError(
                .invalidArgument, "\(path): \(size) bytes, more than the \(maxSmallFile) read from such a file")
        }
        var bytes = [UInt8](repeating: 0, count: maxSmallFile + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw RunlogError(.invalidArgument, "\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            count += n
        }
        guard count <= maxSmallFile else {
            throw RunlogError(.invalidArgument, "\(path): grew past \(maxSmallFile) bytes while it was read")
        }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}

/// One metric file of an MLflow run (lines of "timestamp value step"), streamed a chunk at a time
/// each time the import asks for its points: memory stays bounded whatever the file's size.
struct MLflowMetricFile: MetricPointSource {
    let path: String
    let key: String

    func forEachPoint(_ body: (MetricPoint) throws(RunlogError) -> Void) throws(RunlogError) {
        let (descriptor, _) = try ImportFile.open(path)
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var line: [UInt8] = []
        var number = 0
        func handle(_ bytes: ArraySlice<UInt8>) throws(RunlogError) {
            number += 1
            guard !bytes.isEmpty else { return }
            guard bytes.count <= ImportFile.maxMetricLine else {
                throw RunlogError(
                    .invalidArgument, "metrics/\(key) line \(number): longer than \(ImportFile.maxMetricLine) bytes")
            }
            try body(try parse(String(decoding: bytes, as: UTF8.self), line: number))
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw RunlogError(.invalidArgument, "reading metrics/\(key): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                if line.isEmpty {
                    try handle(buffer[start..<i])
                } else {
                    line.append(contentsOf: buffer[start..<i])
                    try handle(line[...])
                    line.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            line.append(contentsOf: buffer[start..<n])
            if line.count > ImportFile.maxMetricLine {
                throw RunlogError(
                    .invalidArgument, "metrics/\(key) line \(number + 1): longer than \(ImportFile.maxMetricLine) bytes"
                )
            }
        }
        if !line.isEmpty { try handle(line[...]) }
    }

    private func parse(_ text: String, line: Int) throws(RunlogError) -> MetricPoint {
        let fields = text.split(separator: " ")
        guard fields.count == 2 || fields.count == 3, let timestamp = Int64(fields[0]),
            let value = mlflowNumber(fields[1])
        else {
            throw RunlogError(.invalidArgument, "metrics/\(key) line \(line): expected \"timestamp value step\"")
        }
        var step: Int64 = 0
        if fields.count == 3 {
            guard let parsed = Int64(fields[2]) else {
                throw RunlogError(
                    .invalidArgument,
                    "metrics/\(key) line \(line): step \(JSON.quote(String(fields[2]))) is not a 64-bit integer")
            }
            step = parsed
        }
        return MetricPoint(step: step, timestamp: timestamp, value: value)
    }
}

/// A look at a YAML document before the parser sees it, refusing what MLflow never writes and a
/// hostile file uses: nesting deep enough to exhaust the parser's stack (flow collections,
/// indentation, or "- - - …" on one line), and anchors and aliases (a "billion laughs" grows
/// without bound as aliases expand). Quoted scalars, plain scalars and comments are skipped, so a
/// `*` or `[` inside a value is text.
enum YAMLGuard {
    static let maxFlowDepth = 64
    static let maxLineLevels = 64
    static let maxIndent = 256

    /// Throws naming `name` (the file) and the line of the first thing refused.
    static func check(_ text: String, name: String) throws(RunlogError) {
        let bytes = Array(text.utf8)
        var quote: UInt8?
        var escaped = false
        var flow = 0
        var lineNumber = 1
        var atLineStart = true
        var indent = 0
        var levels = 0
        var inPlain = false
        var inComment = false
        var blockScalarIndent: Int?
        func refuse(_ what: String) -> RunlogError {
            RunlogError(.invalidArgument, "\(name) line \(lineNumber): \(what); this is not a file MLflow writes")
        }
        func isBreak(_ i: Int) -> Bool {
            i >= bytes.count || bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\n")
                || bytes[i] == UInt8(ascii: "\t") || bytes[i] == UInt8(ascii: "\r")
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") {
                lineNumber += 1
                atLineStart = true
                indent = 0
                levels = 0
                inPlain = false
                inComment = false
                i += 1
                continue
            }
            if let open = quote {
                if open == UInt8(ascii: "\"") {
                    if escaped {
                        escaped = false
                    } else if c == UInt8(ascii: "\\") {
                        escaped = true
                    } else if c == open {
                        quote = nil
                    }
                } else if c == open {
                    if i + 1 < bytes.count && bytes[i + 1] == open { i += 1 } else { quote = nil }
                }
                i += 1
                continue
            }
            if inComment {
                i += 1
                continue
            }
            if atLineStart {
                if c == UInt8(ascii: " ") {
                    indent += 1
                    guard indent <= maxIndent else { throw refuse("indented more than \(maxIndent) columns") }
                    i += 1
                    continue
                }
                atLineStart = false
                if let block = blockScalarIndent {
                    if indent > block {
                        inComment = true  // a line of a literal or folded block: text
                        continue
                    }
                    blockScalarIndent = nil
                }
            }
            if inPlain {
                let endsFlowItem = flow > 0 && [UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(c)
                if c == UInt8(ascii: ":") && isBreak(i + 1) {
                    inPlain = false
                } else if c == UInt8(ascii: "#") && i > 0 && bytes[i - 1] == UInt8(ascii: " ") {
                    inComment = true
                    i += 1
                    continue
                } else if !endsFlowItem {
                    i += 1
                    continue
                } else {
                    inPlain = false
                }
            }
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: ","):
                break
            case UInt8(ascii: "#"):
                inComment = true
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                quote = c
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                guard flow <= maxFlowDepth else { throw refuse("collections nested deeper than \(maxFlowDepth)") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            case UInt8(ascii: "-"), UInt8(ascii: "?"),
                UInt8(ascii: ":") where isBreak(i + 1):
                levels += 1
                guard levels <= maxLineLevels else { throw refuse("more than \(maxLineLevels) levels on one line") }
            case UInt8(ascii: "&"), UInt8(ascii: "*"):
                throw refuse("an anchor or alias (\(c == UInt8(ascii: "&") ? "&" : "*")…)")
            case UInt8(ascii: "|"), UInt8(ascii: ">"):
                blockScalarIndent = indent
                inComment = true  // the rest of the line is the block's header
            default:
                inPlain = true
            }
            i += 1
        }
    }
}
