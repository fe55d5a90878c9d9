import Synchronization

/// Read-only handles of a run's segment files, opened on first use and shared by scans.
final class SegmentFiles: Sendable {
    let fileSystem: any FileSystem
    let directory: String
    private let handles = Mutex<[UInt32: any FileHandle]>([:])

    init(fileSystem: any FileSystem, directory: String) {
        self.fileSystem = fileSystem
        self.directory = directory
    }

    func path(of sequence: UInt32) -> String { directory + "/" + SegmentName.fileName(sequence) }

    func handle(_ sequence: UInt32) throws(StoreError) -> any FileHandle {
        do {
            return try handles.withLock { handles in
                if let handle = handles[sequence] { return handle }
                let handle = try fileSystem.open(path(of: sequence), writable: false, create: false)
                handles[sequence] = handle
                return handle
            }
        } catch {
            throw StoreError(.io, "opening segment \(path(of: sequence))", underlying: error)
        }
    }

    /// Opens the given segments now, so that a compaction deleting them later cannot fail a scan
    /// that is under way (an open file outlives its name).
    func open(_ sequences: some Sequence<UInt32>) throws(StoreError) {
        for sequence in sequences { _ = try handle(sequence) }
    }

    /// Reads a block's record and checks its frame; returns the record bytes.
    func readRecord(_ block: BlockDescriptor, into buffer: inout [UInt8]) throws(StoreError) {
        let file = try handle(block.segment)
        if buffer.count != block.length { buffer = [UInt8](repeating: 0, count: block.length) }
        let location = DiskLocation(file: file.path, offset: block.offset)
        do {
            let got = try buffer.withUnsafeMutableBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = try file.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: block.offset + Int64(done))
                    if n == 0 { break }
                    done += n
                }
                return done
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

    func closeAll() {
        handles.withLock { handles in
            // Read-only descriptors: a failed close loses nothing.
            for handle in handles.values { try? handle.close() }
            handles.removeAll()
        }
    }

    deinit { closeAll() }
}
