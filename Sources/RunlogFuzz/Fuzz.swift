import Runlog
import RunlogStore
import RunlogTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The fuzz targets. Built with libFuzzer (see RELIABILITY.md):
///
///     swift build --product runlog-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING \
///         --scratch-path .build-fuzz
///     RUNLOG_FUZZ_TARGET=records .build-fuzz/debug/runlog-fuzz Fixtures/fuzz/records -max_total_time=60
///
/// Built normally, `runlog-fuzz TARGET FILE|DIRECTORY…` replays inputs (a corpus, a crash) once.
enum Target: String, CaseIterable {
    /// Records framed with valid checksums in a run's segments: loader, index, scans, verify, recovery.
    case records
    /// A whole segment file, header included.
    case segment
    /// A record payload (first byte: record type) through the record and block decoders.
    case payload
    /// An index snapshot's payload through its decoder.
    case snapshot
    /// The filter language, order-by clauses and page tokens, through `search`.
    case filter

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .records: FuzzEntry.records(bytes)
        case .segment: FuzzEntry.segmentFile(bytes)
        case .payload: FuzzEntry.payload(bytes)
        case .snapshot: FuzzEntry.snapshot(bytes)
        case .filter: FilterFuzzEntry.search(bytes)
        }
    }

    static let selected: Target = {
        guard let name = getenv("RUNLOG_FUZZ_TARGET").map({ String(cString: $0) }) else { return .records }
        guard let target = Target(rawValue: name) else {
            let message = "RUNLOG_FUZZ_TARGET=\(name) is not one of \(allCases.map(\.rawValue))\n"
            _ = Array(message.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(2)
        }
        return target
    }()
}

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        Target.selected.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
#else
    @main
    enum Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = Target(rawValue: name), arguments.count > 1 else {
                let usage =
                    "usage: runlog-fuzz \(Target.allCases.map(\.rawValue).joined(separator: "|")) FILE|DIRECTORY…\n"
                _ = Array(usage.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                exit(2)
            }
            var count = 0
            for path in arguments.dropFirst() {
                for file in files(path) {
                    guard let bytes = try? readAll(file) else {
                        let message = "cannot read \(file)\n"
                        _ = Array(message.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                        exit(1)
                    }
                    bytes.withUnsafeBytes { target.run($0) }
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) inputs replayed")
        }

        static func files(_ path: String) -> [String] {
            let fs = PosixFileSystem()
            guard fs.exists(path).isDirectory else { return [path] }
            return ((try? fs.contentsOfDirectory(path)) ?? []).sorted().flatMap { files(path + "/" + $0) }
        }

        static func readAll(_ path: String) throws -> [UInt8] {
            let file = try PosixFileSystem().open(path, writable: false, create: false)
            defer { try? file.close() }  // read-only
            return try file.read(count: Int(try file.size()), at: 0)
        }
    }
#endif
