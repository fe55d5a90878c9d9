#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Soft deletion of runs, and their permanent removal.
///
/// A deleted run keeps all its files plus a tombstone, `runs/<id>/DELETED`, so deleting needs no
/// lock and works while another process writes the run; restoring removes the tombstone. The
/// tombstone holds the time of the deletion (decimal milliseconds since the epoch and a newline),
/// which `gc --older-than` goes by; one written before the time was recorded is empty.
/// `removeRun` deletes the files for good, and refuses while a writer holds the run.
extension Store {
    static let tombstoneName = "DELETED"

    private func tombstone(_ id: RunID) -> String { directory(of: id) + "/" + Store.tombstoneName }

    /// Marks the run deleted at `time` (ms since the epoch). Deleting a deleted run keeps the
    /// time of its first deletion.
    public func deleteRun(_ id: RunID, at time: Int64) throws(StoreError) {
        let directory = try existingDirectory(id)
        do {
            let file = try fileSystem.open(tombstone(id), writable: true, create: true)
            defer { try? file.close() }
            if try file.size() == 0 {
                try file.writeAll(Array("\(time)\n".utf8), at: 0)
                try file.sync()
            }
            try fileSystem.syncDirectory(directory)
        } catch {
            throw StoreError(.io, "marking run \(id) deleted", underlying: error)
        }
    }

    public func restoreRun(_ id: RunID) throws(StoreError) {
        let directory = try existingDirectory(id)
        do {
            try fileSystem.remove(tombstone(id))
            try fileSystem.syncDirectory(directory)
        } catch {
            throw StoreError(.io, "restoring run \(id)", underlying: error)
        }
    }

    public func isDeleted(_ id: RunID) -> Bool {
        fileSystem.exists(tombstone(id)).exists
    }

    /// When the run was deleted (ms since the epoch): nil when it is not deleted, or when its
    /// tombstone does not hold a time (written before times were recorded, or damaged — it is
    /// read as untrusted bytes, at most 32 of them).
    public func deletionTime(_ id: RunID) -> Int64? {
        guard let file = try? fileSystem.open(tombstone(id), writable: false, create: false) else { return nil }
        defer { try? file.close() }
        guard let bytes = try? file.read(count: 32, at: 0), bytes.last == UInt8(ascii: "\n"),
            let time = Int64(String(decoding: bytes.dropLast(), as: UTF8.self))
        else { return nil }
        return time
    }

    /// Whether a writer holds the run now (what makes `removeRun` fail with `.locked`); changes
    /// nothing on disk.
    public func isBeingWritten(_ id: RunID) -> Bool {
        guard let lock = try? fileSystem.open(directory(of: id) + "/LOCK", writable: true, create: false) else {
            return false
        }
        defer { try? lock.close() }
        return (try? lock.tryLockExclusive()) != true
    }

    /// Removes a run's files for good. Fails with `.locked` while a writer holds the run.
    public func removeRun(_ id: RunID) throws(StoreError) {
        let directory = try existingDirectory(id)
        do {
            let lock = try fileSystem.open(directory + "/LOCK", writable: true, create: true)
            defer { try? lock.close() }  // the directory goes; closing only drops the descriptor
            guard try Store.lockWithPatience(lock) else {
                throw StoreError(.locked, "run \(id) is being written; it cannot be removed now")
            }
            for entry in try fileSystem.contentsOfDirectory(directory) where entry != "LOCK" {
                try fileSystem.remove(directory + "/" + entry)
            }
            try fileSystem.remove(directory + "/LOCK")
            try fileSystem.removeDirectory(directory)
            try fileSystem.syncDirectory(runsDirectory)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "removing run \(id)", underlying: error)
        }
    }

    /// The bytes a run's files take on disk.
    public func diskUsage(_ id: RunID) throws(StoreError) -> Int64 {
        let directory = try existingDirectory(id)
        do {
            return try fileSystem.contentsOfDirectory(directory).reduce(Int64(0)) {
                $0 + (fileSystem.fileSize(directory + "/" + $1) ?? 0)
            }
        } catch {
            throw StoreError(.io, "measuring run \(id)", underlying: error)
        }
    }

    private func existingDirectory(_ id: RunID) throws(StoreError) -> String {
        let directory = directory(of: id)
        guard fileSystem.exists(directory).isDirectory else { throw StoreError(.notFound, "no run \(id) in \(path)") }
        return directory
    }
}
