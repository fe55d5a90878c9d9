import Foundation
import Logging
import Runlog
import RunlogStore

/// A store with one finished run whose log has a hole: 20,000 points of `loss` in segments of
/// 16 KiB, one byte flipped in the middle of a middle segment (inside one of its block records).
/// For the tests of how queries report damage.
package enum DamagedRun {
    /// A value per step that does not compress away (mantissa bits from a multiplicative hash).
    package static func value(_ step: Int64) -> Double {
        Double(bitPattern: (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) >> 12 | 0x3FF0_0000_0000_0000)
    }

    /// A finished run of several segments (16 KiB each, 256-point blocks): 20,000 points of `loss`.
    package static func make(at storePath: String, keepSnapshot: Bool) throws -> (run: RunID, segment: String) {
        var options = StoreOptions()
        options.blockPoints = 256
        options.segmentSize = 16 << 10
        options.durability = .never
        options.backgroundCompaction = false
        options.logger = Logger(label: "runlog.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let id: RunID
        do {
            let store = try TrackingStore.open(at: storePath, options: options)
            let run = try store.startRun(in: try store.experiment(named: "e"), name: "holey")
            let loss = try run.metric("loss")
            for step in Int64(0)..<20_000 { try run.log(loss, value(step), step: step, timestamp: 1_000 + step) }
            try run.finish()
            id = run.id
            store.engine.close()
        }
        let folder = storePath + "/runs/\(id)"
        let segments = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".segment") }
            .sorted()
        guard segments.count >= 3 else {
            throw DamagedRunError("the run has \(segments.count) segments, not 3 or more")
        }
        if !keepSnapshot { try FileManager.default.removeItem(atPath: folder + "/INDEX") }
        // One byte flipped in the middle of a middle segment: inside one of its block records.
        let middle = folder + "/" + segments[segments.count / 2]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: middle))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: middle))
        return (id, middle)
    }
}

struct DamagedRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
