import Foundation
import Logging
import Runlog

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under /tmp, removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "runlog-tracking-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var store: String { path + "/store" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A tracking store in a fresh directory; durability `.never` keeps tests fast.
func makeStore(_ directory: TemporaryDirectory, blockPoints: Int = 8192) throws -> TrackingStore {
    var options = StoreOptions()
    options.blockPoints = blockPoints
    options.durability = .never
    options.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
    return try TrackingStore.open(at: directory.store, options: options)
}

/// The path of an executable built beside the test bundle.
func builtProduct(_ name: String) -> String {
    var directory = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        if FileManager.default.isExecutableFile(atPath: directory + "/" + name) { return directory + "/" + name }
    }
    return name
}
