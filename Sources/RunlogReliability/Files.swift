import RunlogStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh directory under `parent`, made with mkdtemp.
package func makeTemporaryDirectory(under parent: String = "/tmp") throws -> String {
    var template = Array("\(parent)/runlog-test-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw SystemError("mkdtemp", path: parent, errno: errno) }
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh directory under /tmp, removed when the value is released.
package final class TemporaryDirectory {
    package let path: String

    package init() {
        do {
            path = try makeTemporaryDirectory()
        } catch {
            preconditionFailure("\(error)")
        }
    }

    package var store: String { path + "/store" }

    deinit { removeTree(path) }
}

/// Every file under `path` (a file itself when `path` is one), as full paths, in no order.
package func files(under path: String) -> [String] {
    let fs = PosixFileSystem()
    guard fs.exists(path).isDirectory else { return fs.exists(path).exists ? [path] : [] }
    return ((try? fs.contentsOfDirectory(path)) ?? []).flatMap { files(under: path + "/" + $0) }
}

/// Removes a file or a directory tree.
package func removeTree(_ path: String) {
    let fs = PosixFileSystem()
    let status = fs.exists(path)
    guard status.exists else { return }
    if status.isDirectory, let entries = try? fs.contentsOfDirectory(path) {
        for entry in entries { removeTree(path + "/" + entry) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

package func readFile(_ path: String) throws -> [UInt8] {
    let file = try PosixFileSystem().open(path, writable: false, create: false)
    defer { try? file.close() }  // read-only
    return try file.read(count: Int(try file.size()), at: 0)
}

package func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let file = try PosixFileSystem().open(path, writable: true, create: true)
    try file.truncate(to: 0)
    try file.writeAll(bytes, at: 0)
    try file.close()
}

/// `value` with `digits` digits after the point (no Foundation in the campaign).
package func fixed(_ value: Double, _ digits: Int = 1) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled) - whole * Int(scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let digitsText = String(fraction)
        text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
    }
    return text
}

/// The path of an executable built beside the running one (a test bundle or a tool), found by
/// walking up from this process's executable; `name` itself when there is none.
package func builtProduct(_ name: String) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    var directory = String(decoding: buffer[..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/" + name
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return name
}

/// The most memory this process has held resident so far, in MB.
package func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

extension RandomNumberGenerator {
    /// A number in 0..<bound (0 when bound is 0), for the campaigns' random choices.
    package mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int.random(in: 0..<bound, using: &self) }
}
