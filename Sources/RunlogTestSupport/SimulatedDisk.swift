import RunlogStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An in-memory file system that remembers what is durable, for power-loss tests.
///
/// It keeps two states of everything: what the program sees, and what would survive the power
/// going out. The model is ext4's (data=ordered) as far as Runlog depends on it:
/// - a file's bytes become durable when the file is synced;
/// - directory changes (create, rename, link, unlink, mkdir) are journaled in order and become
///   durable when any directory is synced — a crash keeps a prefix of the unsynced ones, so a
///   rename is all or nothing; or, `reorderingDirectoryChanges`, any subset of them (POSIX
///   promises no order among changes that were not synced: a rename may be lost while a later
///   unlink survives);
/// - of a file's unsynced bytes, a crash keeps some prefix, and sometimes a page of that prefix
///   reads back as zeros (written back out of order, the size already extended).
///
/// `powerLoss(using:)` returns the disk as a machine would find it after rebooting. Operations are
/// atomic with respect to each other and to `powerLoss`, which may be called from any thread while
/// writers run. Used by tests and by the reliability campaign, not by stores on real disks.
package final class SimulatedDisk: FileSystem {
    struct Inode {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        var locked = false
    }

    enum Entry: Equatable {
        case file(Int)
        case directory
    }

    /// A directory change not yet made durable: names set (or removed, nil) together — a rename
    /// is one change of two names.
    typealias Change = [(path: String, entry: Entry?)]

    struct State {
        var inodes: [Int: Inode] = [:]
        var nextInode = 1
        /// Full path → entry, as the program sees it.
        var current: [String: Entry] = ["/": .directory]
        /// Full path → entry, as it would be after a crash with no pending change kept.
        var durable: [String: Entry] = ["/": .directory]
        var pending: [Change] = []
        /// Completed file syncs: (the operation count when the sync started, the file).
        var syncs: [(startedAt: Int, path: String)] = []
        var operations = 0
        /// While recording, the state before each operation since `startRecording()`.
        var recorded: [State]?
    }

    /// Counts an operation; while recording, keeps the state as it stands before it.
    private static func tick(_ s: inout State) {
        s.operations += 1
        if s.recorded != nil {
            var moment = s
            moment.recorded = nil
            s.recorded!.append(moment)
        }
    }

    /// Keeps the disk's state at every operation from now on, until `stopRecording()`.
    package func startRecording() {
        state.withLock { $0.recorded = [] }
    }

    /// The disk as it stood before each operation since `startRecording()`, and as it stands now:
    /// a power cut can be tried at every step of what ran in between.
    package func stopRecording() -> [SimulatedDisk] {
        state.withLock { s in
            var moments = s.recorded ?? []
            s.recorded = nil
            moments.append(s)
            return moments.map(SimulatedDisk.init)
        }
    }

    /// A pthread mutex rather than `Mutex`: ThreadSanitizer sees through pthreads, not through
    /// the standard library's futex-based lock, and the power-loss tests run under it.
    let state: ConditionLock<State>

    package init() {
        state = ConditionLock(State())
    }

    private init(_ state: State) {
        self.state = ConditionLock(state)
    }

    /// The number of operations so far: a clock for ordering acknowledgements against syncs.
    package var operationCount: Int { state.withLock { $0.operations } }

    /// The operation count at which the latest completed sync of a file whose path has `prefix`
    /// began — what it wrote before then is durable.
    package func lastSyncStart(pathPrefix prefix: String) -> Int? {
        state.withLock { s in s.syncs.last { $0.path.hasPrefix(prefix) }?.startedAt }
    }

    /// The disk as found after a power loss at this instant: everything synced, and a part of
    /// what was not chosen with `random` (see the type's comment).
    package func powerLoss(using random: inout some RandomNumberGenerator, reorderingDirectoryChanges: Bool = false)
        -> SimulatedDisk
    {
        /// A number in 0..<bound (0 when bound is 0).
        func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int.random(in: 0..<bound, using: &random) }
        return state.withLock { s in
            var next = State()
            next.nextInode = s.nextInode
            // Directory changes: the durable ones and a prefix (or any subset) of the pending ones.
            var entries = s.durable
            let kept = below(s.pending.count + 1)
            for (index, change) in s.pending.enumerated()
            where reorderingDirectoryChanges ? below(2) == 0 : index < kept {
                for (path, entry) in change { entries[path] = entry }
            }
            next.current = entries
            next.durable = entries
            // File bytes: the durable ones and a prefix of the rest, sometimes with a zeroed page.
            for (number, inode) in s.inodes {
                var bytes = inode.durable
                if inode.current != inode.durable {
                    let common = zip(inode.current, inode.durable).prefix { $0 == $1 }.count
                    let length = common + below(inode.current.count - common + 1)
                    bytes = Array(inode.current[..<length])
                    if length - common > 4096, below(4) == 0 {
                        let page = (common + 4095) / 4096 * 4096
                        let pages = (length - page) / 4096
                        if pages > 0 {
                            let start = page + 4096 * below(pages)
                            for i in start..<min(start + 4096, length) { bytes[i] = 0 }
                        }
                    }
                }
                next.inodes[number] = Inode(current: bytes, durable: bytes)
            }
            return SimulatedDisk(next)
        }
    }

    // MARK: FileSystem

    package func open(_ path: String, writable: Bool, create: Bool) throws -> any FileHandle {
        let path = Self.normalize(path)
        let number = try state.withLock { s throws -> Int in
            Self.tick(&s)
            switch s.current[path] {
            case .file(let number): return number
            case .directory: throw SystemError("open", path: path, errno: EISDIR)
            case nil:
                guard create else { throw SystemError("open", path: path, errno: ENOENT) }
                try Self.checkParent(path, s)
                let number = s.nextInode
                s.nextInode += 1
                s.inodes[number] = Inode()
                Self.change([(path, .file(number))], &s)
                return number
            }
        }
        return SimulatedFile(disk: self, inode: number, path: path, writable: writable)
    }

    package func createDirectory(_ path: String) throws {
        let path = Self.normalize(path)
        try state.withLock { s in
            Self.tick(&s)
            switch s.current[path] {
            case .directory: return
            case .file: throw SystemError("mkdir", path: path, errno: EEXIST)
            case nil:
                try Self.checkParent(path, s)
                Self.change([(path, .directory)], &s)
            }
        }
    }

    package func contentsOfDirectory(_ path: String) throws -> [String] {
        let path = Self.normalize(path)
        return try state.withLock { s in
            guard s.current[path] == .directory else { throw SystemError("opendir", path: path, errno: ENOENT) }
            let prefix = path == "/" ? "/" : path + "/"
            return s.current.keys.filter {
                $0.hasPrefix(prefix) && $0 != prefix && !$0.dropFirst(prefix.count).contains("/")
            }
            .map { String($0.dropFirst(prefix.count)) }
        }
    }

    package func exists(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        let entry = state.withLock { $0.current[Self.normalize(path)] }
        return (entry != nil, entry == .directory)
    }

    package func fileSize(_ path: String) -> Int64? {
        state.withLock { s in
            guard case .file(let number) = s.current[Self.normalize(path)] else { return nil }
            return Int64(s.inodes[number]!.current.count)
        }
    }

    package func syncDirectory(_ path: String) throws {
        let path = Self.normalize(path)
        try state.withLock { s in
            Self.tick(&s)
            guard s.current[path] == .directory else { throw SystemError("fsync", path: path, errno: ENOENT) }
            // The journal commits every change made so far, whichever directory they touched.
            s.durable = s.current
            s.pending = []
        }
    }

    package func rename(_ source: String, to destination: String) throws {
        let (source, destination) = (Self.normalize(source), Self.normalize(destination))
        try state.withLock { s in
            Self.tick(&s)
            guard case .file(let number) = s.current[source] else {
                throw SystemError("rename", path: "\(source) to \(destination)", errno: ENOENT)
            }
            try Self.checkParent(destination, s)
            Self.change([(destination, .file(number)), (source, nil)], &s)
        }
    }

    package func link(_ source: String, to destination: String) throws -> Bool {
        let (source, destination) = (Self.normalize(source), Self.normalize(destination))
        return try state.withLock { s in
            Self.tick(&s)
            guard case .file(let number) = s.current[source] else {
                throw SystemError("link", path: "\(source) to \(destination)", errno: ENOENT)
            }
            if s.current[destination] != nil { return false }
            try Self.checkParent(destination, s)
            Self.change([(destination, .file(number))], &s)
            return true
        }
    }

    package func remove(_ path: String) throws {
        let path = Self.normalize(path)
        try state.withLock { s in
            Self.tick(&s)
            guard case .file = s.current[path] else { throw SystemError("unlink", path: path, errno: ENOENT) }
            Self.change([(path, nil)], &s)
        }
    }

    package func removeDirectory(_ path: String) throws {
        let path = Self.normalize(path)
        try state.withLock { s in
            Self.tick(&s)
            guard s.current[path] == .directory else { throw SystemError("rmdir", path: path, errno: ENOENT) }
            let prefix = path + "/"
            guard !s.current.keys.contains(where: { $0.hasPrefix(prefix) }) else {
                throw SystemError("rmdir", path: path, errno: ENOTEMPTY)
            }
            Self.change([(path, nil)], &s)
        }
    }

    // MARK: Internals

    private static func change(_ change: Change, _ s: inout State) {
        for (path, entry) in change { s.current[path] = entry }
        s.pending.append(change)
    }

    private static func checkParent(_ path: String, _ s: State) throws {
        let parent = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "/"
        guard s.current[parent] == .directory else { throw SystemError("create", path: path, errno: ENOENT) }
    }

    /// An absolute path without repeated or trailing slashes; relative paths hang off "/".
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    fileprivate func withInode<T>(_ number: Int, _ body: (inout Inode, inout State) throws -> T) rethrows -> T {
        try state.withLock { s in
            Self.tick(&s)
            var inode = s.inodes[number]!
            defer { s.inodes[number] = inode }
            return try body(&inode, &s)
        }
    }
}

/// An open file of a `SimulatedDisk`; it stays usable after its name is removed, as on POSIX.
final class SimulatedFile: FileHandle {
    let disk: SimulatedDisk
    let inode: Int
    let path: String
    let writable: Bool
    let holdsLock = ConditionLock(false)

    init(disk: SimulatedDisk, inode: Int, path: String, writable: Bool) {
        self.disk = disk
        self.inode = inode
        self.path = path
        self.writable = writable
    }

    func size() throws -> Int64 { disk.withInode(inode) { inode, _ in Int64(inode.current.count) } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        disk.withInode(inode) { inode, _ in
            guard offset < inode.current.count else { return 0 }
            let count = min(buffer.count, inode.current.count - Int(offset))
            inode.current.withUnsafeBytes { bytes in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[Int(offset)..<(Int(offset) + count)]))
            }
            return count
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        guard writable else { throw SystemError("pwrite", path: path, errno: EBADF) }
        return disk.withInode(inode) { inode, _ in
            let end = Int(offset) + bytes.count
            if inode.current.count < end {
                inode.current.append(contentsOf: repeatElement(0, count: end - inode.current.count))
            }
            inode.current.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[Int(offset)..<end]).copyMemory(from: bytes)
            }
            return bytes.count
        }
    }

    func sync() throws {
        disk.withInode(inode) { inode, s in
            inode.durable = inode.current
            s.syncs.append((s.operations, path))
        }
    }

    func truncate(to size: Int64) throws {
        guard writable else { throw SystemError("ftruncate", path: path, errno: EBADF) }
        disk.withInode(inode) { inode, _ in
            if inode.current.count > Int(size) {
                inode.current.removeLast(inode.current.count - Int(size))
            } else {
                inode.current.append(contentsOf: repeatElement(0, count: Int(size) - inode.current.count))
            }
        }
    }

    func tryLockExclusive() throws -> Bool {
        if holdsLock.withLock({ $0 }) { return true }
        let taken = disk.withInode(inode) { inode, _ -> Bool in
            if inode.locked { return false }
            inode.locked = true
            return true
        }
        if taken { holdsLock.withLock { $0 = true } }
        return taken
    }

    func close() throws {
        if holdsLock.withLock({ $0 }) {
            disk.withInode(inode) { inode, _ in inode.locked = false }
            holdsLock.withLock { $0 = false }
        }
    }
}
