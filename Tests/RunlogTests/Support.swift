import Foundation
import Logging
import Runlog
import RunlogReliability

#if canImport(Glibc)
    import Glibc
#endif

/// A tracking store in a fresh directory; durability `.never` keeps tests fast.
func makeStore(_ directory: TemporaryDirectory, blockPoints: Int = 8192) throws -> TrackingStore {
    try TrackingStore.open(at: directory.store, options: quietOptions(blockPoints: blockPoints))
}

/// The options of `makeStore`: durability `.never`, no log output.
func quietOptions(blockPoints: Int = 8192) -> StoreOptions {
    var options = StoreOptions()
    options.blockPoints = blockPoints
    options.durability = .never
    options.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
    return options
}
