import RunlogStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The real file system with faults on demand: short writes, failing writes after a byte budget,
/// failing fsync, and slow writes.
package final class FaultyFileSystem: FileSystem {
    package struct Faults {
        /// Each write call writes at most this many bytes.
        package var maxBytesPerWrite: Int?
        /// Writes fail with ENOSPC once this many bytes were written in all.
        package var failWritesAfterBytes: Int?
        package var failSync = false
        /// Each write call sleeps this long first.
        package var writeDelayMicroseconds: UInt32 = 0
        package var bytesWritten = 0
        package var writeCalls = 0
        package var syncCalls = 0
        /// Every mutating operation (open for writing, write, sync, truncate, rename, link, remove,
        /// directory sync) counts; the one numbered `failAtOperation` fails with EIO, as if the
        /// process had died right before it.
        package var operations = 0
        package var failAtOperation: Int?
        /// Reads (and directory listings) of paths containing this fail with EIO: a bad sector.
        package var failReadsOfPathsContaining: String?
        /// Runs once, before the first operation named `name` on a path containing `path`: what
        /// another process does at that moment (a writer appending while a compaction writes).
        package var before: (name: String, path: String, action: @Sendable () -> Void)?
    }

    /// Throws EIO when reads of `path` are set to fail.
    package func readFault(_ name: String, _ path: String) throws {
        if let part = faults.withLock({ $0.failReadsOfPathsContaining }), path.contains(part) {
            throw SystemError(name, path: path, errno: EIO)
        }
    }

    /// Counts a mutating operation, failing it when its number comes up.
    package func operation(_ name: String, _ path: String) throws {
        if readOnly { throw SystemError(name, path: path, errno: EROFS) }
        let (fail, action) = faults.withLock { f -> (Bool, (@Sendable () -> Void)?) in
            f.operations += 1
            guard let hook = f.before, hook.name == name, path.contains(hook.path) else {
                return (f.failAtOperation == f.operations, nil)
            }
            f.before = nil
            return (f.failAtOperation == f.operations, hook.action)
        }
        action?()
        if fail { throw SystemError(name, path: path, errno: EIO) }
    }

    let base = PosixFileSystem()
    package let faults = Mutex(Faults())
    /// Every mutating operation fails with this errno (EROFS: a read-only mount), when set.
    package let readOnly: Bool

    package init(readOnly: Bool = false) { self.readOnly = readOnly }

    package func open(_ path: String, writable: Bool, create: Bool) throws -> any FileHandle {
        if writable { try operation("open", path) } else { try readFault("open", path) }
        return FaultyFile(try base.open(path, writable: writable, create: create), faults: self)
    }
    package func createDirectory(_ path: String) throws {
        if readOnly && !base.exists(path).isDirectory { throw SystemError("mkdir", path: path, errno: EROFS) }
        try base.createDirectory(path)
    }
    package func contentsOfDirectory(_ path: String) throws -> [String] {
        try readFault("opendir", path)
        return try base.contentsOfDirectory(path)
    }
    package func exists(_ path: String) -> (exists: Bool, isDirectory: Bool) { base.exists(path) }
    package func fileSize(_ path: String) -> Int64? { base.fileSize(path) }
    package func rename(_ source: String, to destination: String) throws {
        try operation("rename", source)
        try base.rename(source, to: destination)
    }
    package func link(_ source: String, to destination: String) throws -> Bool {
        try operation("link", source)
        return try base.link(source, to: destination)
    }
    package func removeDirectory(_ path: String) throws {
        try operation("rmdir", path)
        try base.removeDirectory(path)
    }
    package func remove(_ path: String) throws {
        try operation("unlink", path)
        try base.remove(path)
    }
    package func syncDirectory(_ path: String) throws {
        try operation("fsync", path)
        if faults.withLock({ $0.failSync }) { throw SystemError("fsync", path: path, errno: EIO) }
        try base.syncDirectory(path)
    }
}

final class FaultyFile: FileHandle {
    let file: any FileHandle
    let owner: FaultyFileSystem

    init(_ file: any FileHandle, faults owner: FaultyFileSystem) {
        self.file = file
        self.owner = owner
    }

    var path: String { file.path }
    func size() throws -> Int64 { try file.size() }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try owner.readFault("pread", file.path)
        return try file.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        try owner.operation("pwrite", file.path)
        let (allowed, delay) = try owner.faults.withLock { f throws -> (Int, UInt32) in
            f.writeCalls += 1
            var allowed = min(bytes.count, f.maxBytesPerWrite ?? bytes.count)
            if let budget = f.failWritesAfterBytes {
                guard f.bytesWritten < budget else { throw SystemError("pwrite", path: file.path, errno: ENOSPC) }
                allowed = min(allowed, budget - f.bytesWritten)
            }
            f.bytesWritten += allowed
            return (allowed, f.writeDelayMicroseconds)
        }
        if delay > 0 { usleep(delay) }
        return try file.write(UnsafeRawBufferPointer(rebasing: bytes[..<allowed]), at: offset)
    }

    func sync() throws {
        try owner.operation("fsync", file.path)
        let fail = owner.faults.withLock { f in
            f.syncCalls += 1
            return f.failSync
        }
        if fail { throw SystemError("fsync", path: file.path, errno: EIO) }
        try file.sync()
    }

    func truncate(to size: Int64) throws {
        try owner.operation("ftruncate", file.path)
        try file.truncate(to: size)
    }
    func tryLockExclusive() throws -> Bool { try file.tryLockExclusive() }
    func close() throws { try file.close() }
}
