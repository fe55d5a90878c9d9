import Logging

/// When a writer calls `fsync`.
public enum Durability: Sendable, Hashable {
    /// Never: data reaches the page cache on `flush()` and the disk when the kernel writes it back.
    /// Survives a crash of the process, not of the machine.
    case never
    /// On every `flush()`, before it returns: what `flush()` acknowledged survives power loss.
    case onFlush
    /// At most once every `milliseconds`, in the background: power loss may lose that much.
    case interval(milliseconds: Int)
}

public struct StoreOptions: Sendable {
    /// All file access goes through this; tests pass one that fails on demand.
    public var fileSystem: any FileSystem = PosixFileSystem()
    public var durability: Durability = .onFlush
    /// LZ4-compress blocks (a block LZ4 does not shrink is stored raw either way).
    public var compression = true
    /// A segment rolls over to the next file once it reaches this many bytes.
    public var segmentSize = 64 << 20
    /// Points of one series buffered before they are sealed into a block (1…65,536).
    public var blockPoints = 8192
    /// Points buffered in all (staged and waiting to be written) before `log` waits.
    public var maxBufferedPoints = 1 << 21
    /// Save each run's index beside its log when a writer closes or a compaction publishes, and
    /// open runs from it when it checks out against the segments, instead of reading every
    /// segment. Opening from a snapshot does not re-read the log: damage done to a segment after
    /// the snapshot was taken shows when the damaged block is scanned (every block read is
    /// checksummed) or under `verify`, which never uses snapshots.
    public var indexSnapshots = true
    /// Compact runs in the background when their writer closes (see `Store.compact`), and, while
    /// a writer that flushes often writes, the part of its run it has finished with (see
    /// `liveCompactionBytes`).
    public var backgroundCompaction = true
    /// A writer's small blocks (under half `blockPoints`: what a flush seals early), counted from
    /// the second of each series since the last live compaction, start a live compaction once
    /// they reach this many bytes and an eighth of the run's bytes. A run flushed every 100 steps
    /// then stays within about an eighth of its compacted size while it is written.
    public var liveCompactionBytes = 64 << 10
    /// A series with this many blocks under half the largest block size makes a run worth compacting.
    public var compactionSmallBlocks = 4
    /// Recovery notices (torn tails truncated, corruption skipped) and background failures.
    public var logger = Logger(label: "runlog.store")

    public init() {}

    func validate() throws(StoreError) {
        guard (1...BlockHeader.maxPoints).contains(blockPoints) else {
            throw StoreError(.invalidArgument, "blockPoints \(blockPoints) is outside 1…\(BlockHeader.maxPoints)")
        }
        guard segmentSize >= 4096 else {
            throw StoreError(.invalidArgument, "segmentSize \(segmentSize) is below 4096")
        }
        guard liveCompactionBytes >= 0 else {
            throw StoreError(.invalidArgument, "liveCompactionBytes \(liveCompactionBytes) is negative")
        }
        guard maxBufferedPoints >= blockPoints else {
            throw StoreError(
                .invalidArgument, "maxBufferedPoints \(maxBufferedPoints) is below blockPoints \(blockPoints)")
        }
        if case .interval(let milliseconds) = durability, milliseconds <= 0 {
            throw StoreError(.invalidArgument, "durability interval \(milliseconds) ms is not positive")
        }
    }
}
