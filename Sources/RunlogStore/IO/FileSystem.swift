/// Every file operation of the engine goes through this seam, so that tests can replace it with one
/// that fails on demand (short writes, write errors, failed fsync) — as leveldb's `Env` does.
public protocol FileSystem: Sendable {
    /// Opens a file. `create` makes it when missing; `writable` opens it read-write.
    func open(_ path: String, writable: Bool, create: Bool) throws -> any FileHandle
    func createDirectory(_ path: String) throws
    /// Names of the entries of a directory (not `.` and `..`), in no particular order.
    func contentsOfDirectory(_ path: String) throws -> [String]
    /// Whether `path` exists, and whether it is a directory.
    func exists(_ path: String) -> (exists: Bool, isDirectory: Bool)
    /// The size of the file at `path`, or nil when there is none.
    func fileSize(_ path: String) -> Int64?
    /// Makes a directory's entries (created or renamed files) durable.
    func syncDirectory(_ path: String) throws
    /// Renames `source` to `destination` atomically, replacing a file already there.
    func rename(_ source: String, to destination: String) throws
    /// Makes `destination` a second name of `source`; `false` when `destination` exists. Publishes a
    /// fully written file under a name that only one process can claim.
    func link(_ source: String, to destination: String) throws -> Bool
    /// Removes a file.
    func remove(_ path: String) throws
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws
}

/// An open file. Reads and writes are positional; neither moves a shared cursor.
public protocol FileHandle: AnyObject, Sendable {
    var path: String { get }
    func size() throws -> Int64
    /// Reads up to `buffer.count` bytes at `offset`; fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes some prefix of `bytes` at `offset` and returns its length; callers loop on short writes.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int
    func sync() throws
    func truncate(to size: Int64) throws
    /// Takes an exclusive advisory lock without waiting; `false` when another open file holds it.
    func tryLockExclusive() throws -> Bool
    func close() throws
}

extension FileHandle {
    /// Writes all of `bytes`, looping over short writes.
    package func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let written = try write(rest, at: offset + Int64(done))
            guard written > 0 else { throw SystemError("write", path: path, errno: 5 /* EIO */) }
            done += written
        }
    }

    package func writeAll(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try writeAll($0, at: offset) }
    }

    /// Fills `buffer` from `offset`, looping over short reads; returns the bytes read, fewer
    /// than `buffer.count` only when the file ends first.
    package func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset`, or fewer when the file ends first, into a new
    /// array (not zeroed first: the reads fill it).
    package func read(count: Int, at offset: Int64) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try readFully(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }
}
