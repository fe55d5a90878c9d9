/// Read-only handles of a run's segment files, opened on first use and shared by scans.
///
/// A scan holds the handles of every segment it reads from start to end (`open`), so that a
/// compaction deleting a segment, or `closeAll`, cannot fail a scan under way; a handle's
/// descriptor is closed once neither the cache nor any scan holds it (an open file outlives its
/// name, and so keeps its disk space, only that long).
final class SegmentFiles: Sendable {
    let fileSystem: any FileSystem
    let directory: String
    /// A pthread mutex (`ConditionLock`), which ThreadSanitizer sees, rather than `Mutex`.
    private let handles = ConditionLock<[UInt32: OpenSegment]>([:])

    init(fileSystem: any FileSystem, directory: String) {
        self.fileSystem = fileSystem
        self.directory = directory
    }

    func path(of sequence: UInt32) -> String { directory + "/" + SegmentName.fileName(sequence) }

    func handle(_ sequence: UInt32) throws(StoreError) -> OpenSegment {
        do {
            return try handles.withLock { handles in
                if let handle = handles[sequence] { return handle }
                let handle = OpenSegment(try fileSystem.open(path(of: sequence), writable: false, create: false))
                handles[sequence] = handle
                return handle
            }
        } catch {
            throw StoreError(.io, "opening segment \(path(of: sequence))", underlying: error)
        }
    }

    /// Opens the given segments now, for a scan to hold while it reads them.
    func open(_ sequences: some Sequence<UInt32>) throws(StoreError) -> HeldSegments {
        var held: [UInt32: OpenSegment] = [:]
        for sequence in sequences { held[sequence] = try handle(sequence) }
        return HeldSegments(handles: held)
    }

    /// Forgets the handles of segments a compaction replaced (later scans have the new blocks);
    /// each closes when the last scan reading through it ends.
    func retire(_ sequences: some Sequence<UInt32>) {
        handles.withLock { handles in
            for sequence in sequences { handles.removeValue(forKey: sequence) }
        }
    }

    /// Reads a block's record and checks its frame; returns the record bytes.
    func readRecord(_ block: BlockDescriptor, into buffer: inout [UInt8], from held: HeldSegments? = nil)
        throws(StoreError)
    {
        let segment: OpenSegment
        if let one = held?.handles[block.segment] { segment = one } else { segment = try handle(block.segment) }
        defer { withExtendedLifetime(segment) {} }  // its descriptor stays open while read
        let file = segment.file
        let location = DiskLocation(file: file.path, offset: block.offset)
        do {
            let got: Int
            if buffer.count == block.length {
                got = try buffer.withUnsafeMutableBytes { try file.readFully(into: $0, at: block.offset) }
            } else {
                // A new buffer of the record's length, filled by the reads: zeroing one first cost
                // nearly a tenth of the instructions of a full scan.
                buffer = try file.read(count: block.length, at: block.offset)
                got = buffer.count
            }
            guard got == block.length else {
                throw StoreError(
                    .corruption, "block record ends early: \(got) of \(block.length) bytes", location: location)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "reading a block", location: location, underlying: error)
        }
        let parsed = buffer.withUnsafeBytes { RecordFrame.parse($0, at: 0) }
        guard case .record(let type, let length) = parsed, type == RecordType.block.rawValue,
            length + RecordFrame.headerSize == block.length
        else {
            throw StoreError(.corruption, "block record no longer matches the index", location: location)
        }
    }

    /// Drops every cached handle; those no scan holds close now, the others when their scans end.
    func closeAll() {
        handles.withLock { $0.removeAll() }
    }
}

/// A segment's read-only descriptor, closed when the last reference to it goes.
final class OpenSegment: Sendable {
    let file: any FileHandle

    init(_ file: any FileHandle) {
        self.file = file
    }

    deinit {
        try? file.close()  // read-only: nothing to lose
    }
}

/// The segments one scan reads, held open until it ends.
struct HeldSegments {
    fileprivate let handles: [UInt32: OpenSegment]
}
