#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The real file system, through POSIX calls.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, writable: Bool, create: Bool) throws -> any FileHandle {
        var flags = writable ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        flags |= O_CLOEXEC
        let fd = retryingOnInterrupt { Glibc.open(path, flags, 0o644) }
        guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    public func createDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SystemError("mkdir", path: path, errno: errno)
        }
    }

    public func contentsOfDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func exists(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (false, false) }
        return (true, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    public func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else {
            throw SystemError("rename", path: "\(source) to \(destination)", errno: errno)
        }
    }

    public func link(_ source: String, to destination: String) throws -> Bool {
        if Glibc.link(source, destination) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("link", path: "\(source) to \(destination)", errno: errno)
    }

    public func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemError("unlink", path: path, errno: errno) }
    }

    public func removeDirectory(_ path: String) throws {
        guard rmdir(path) == 0 || errno == ENOENT else { throw SystemError("rmdir", path: path, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync", path: path, errno: errno) }
    }
}

/// An open POSIX file descriptor. Immutable after `init`; the descriptor is closed once, by `close()`.
final class PosixFile: FileHandle {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func size() throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = retryingOnInterrupt { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
        guard n >= 0 else { throw SystemError("pread", path: path, errno: errno) }
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        guard bytes.count > 0 else { return 0 }
        let n = retryingOnInterrupt { pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset)) }
        guard n >= 0 else { throw SystemError("pwrite", path: path, errno: errno) }
        return n
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw SystemError("fsync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw SystemError("ftruncate", path: path, errno: errno) }
    }

    func tryLockExclusive() throws -> Bool {
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw SystemError("flock", path: path, errno: errno)
    }

    func close() throws {
        guard Glibc.close(fd) == 0 else { throw SystemError("close", path: path, errno: errno) }
    }
}

private func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
