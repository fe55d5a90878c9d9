/// Appends records to a run's active segment, rolling to a new segment at the size limit.
///
/// `@unchecked Sendable`: owned by one thread at a time — the thread that opens the writer, then the
/// writer's sealer thread, then the thread that closes it after the sealer has exited (the hand-offs
/// happen under the writer's lock).
final class SegmentAppender: @unchecked Sendable {
    let fileSystem: any FileSystem
    let directory: String
    let runID: RunID
    let segmentSize: Int
    let syncOnRoll: Bool
    private(set) var sequence: UInt32
    private var file: (any FileHandle)?
    /// Bytes of the segment already written.
    private var written: Int64
    /// Records added but not yet written.
    private var buffer: [UInt8] = []
    /// Whether written bytes await an fsync.
    private(set) var dirty = false

    /// Continues segment `sequence` at `offset` (0 means: write its header first).
    init(
        fileSystem: any FileSystem, directory: String, runID: RunID, segmentSize: Int, syncOnRoll: Bool,
        sequence: UInt32, offset: Int64
    ) throws {
        self.fileSystem = fileSystem
        self.directory = directory
        self.runID = runID
        self.segmentSize = segmentSize
        self.syncOnRoll = syncOnRoll
        self.sequence = sequence
        self.written = offset
        try openSegment(at: offset)
    }

    var path: String { directory + "/" + SegmentName.fileName(sequence) }

    /// Where the log ends once everything added is written.
    var end: (sequence: UInt32, offset: Int64) { (sequence, written + Int64(buffer.count)) }

    /// Adds a framed record; returns where it will be. Nothing reaches the file before `writeOut()`.
    func add(_ record: [UInt8]) throws -> (segment: UInt32, offset: Int64) {
        var end = written + Int64(buffer.count)
        if end + Int64(record.count) > Int64(segmentSize) && end > Int64(SegmentHeader.size) {
            try writeOut()
            try roll()
            end = written
        }
        buffer.append(contentsOf: record)
        return (sequence, end)
    }

    func writeOut() throws {
        guard !buffer.isEmpty, let file else { return }
        try file.writeAll(buffer, at: written)
        written += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        dirty = true
    }

    func sync() throws {
        guard dirty, let file else { return }
        try file.sync()
        dirty = false
    }

    func close() throws {
        guard let file else { return }
        self.file = nil
        try file.close()
    }

    /// Writes out what was added and starts a new segment, leaving one sequence number unused
    /// between the two for a live compaction's output (`LiveCompaction`); returns the sequence of
    /// the segment it ended, which is never written again.
    func rollLeavingGap() throws -> UInt32 {
        try writeOut()
        let ended = sequence
        try roll(skipping: 1)
        return ended
    }

    private func roll(skipping gap: UInt32 = 0) throws {
        if syncOnRoll { try sync() }
        try close()
        sequence += 1 + gap
        written = 0
        try openSegment(at: 0)
    }

    private func openSegment(at offset: Int64) throws {
        let file = try fileSystem.open(path, writable: true, create: true)
        self.file = file
        if offset == 0 {
            try file.truncate(to: 0)
            let header = SegmentHeader(runID: runID, sequence: sequence).encoded()
            try file.writeAll(header, at: 0)
            written = Int64(header.count)
            dirty = true
            if syncOnRoll {
                try file.sync()
                try fileSystem.syncDirectory(directory)
                dirty = false
            }
        }
    }
}
