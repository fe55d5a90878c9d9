import Foundation
import RunlogStore

/// The append-only file behind logged models and the model registry, `<store>/models/JOURNAL`
/// (FORMAT.md, "The model journal"):
///
/// ```
/// header   "RLMODELS" | u32 version (1) | u32 CRC-32C of the 12 bytes before it
/// record   u32 payload length | u32 CRC-32C of the payload | payload (one event, UTF-8 JSON)
/// ```
///
/// Integers are little-endian. An append writes one record and fsyncs before it returns, under an
/// exclusive `flock` of the file, after reading what other processes appended since; so a change
/// the server acknowledged survives a crash, and two writers never interleave. A record cut short
/// by a crash (it reaches or passes the end of the file) is a torn tail: readers stop before it and
/// the next writer truncates it. A whole record whose checksum fails, with more after it, is damage:
/// reading stops there and says so, and writing is refused, so nothing after it is overwritten.
final class ModelJournal: @unchecked Sendable {
    static let magic = Array("RLMODELS".utf8)
    static let version: UInt32 = 1
    static let headerSize = 16
    /// A record's payload is at most this long (an event is a few kilobytes; tags are 8,000 bytes).
    static let maxPayload = 16 << 20

    let path: String
    /// Bytes of whole, valid records read so far (header included).
    private(set) var validEnd = 0
    /// Set when a whole record in the middle failed its checksum: what it says.
    private(set) var damage: String?

    init(path: String) {
        self.path = path
    }

    /// Reads the records appended since the last call, handing each payload to `apply`. A missing
    /// file is an empty journal.
    func catchUp(_ apply: ([UInt8]) throws(RunlogError) -> Void) throws(RunlogError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            if errno == ENOENT { return }
            throw Self.failure("opening \(path)")
        }
        defer { close(descriptor) }
        try read(descriptor, apply)
    }

    /// Appends one record, fsynced, after applying what others appended (under the file's lock):
    /// `event` is asked for the payload once the journal is current, so it validates against the
    /// latest state; it returns nil to write nothing.
    func append(
        apply: ([UInt8]) throws(RunlogError) -> Void, event: () throws(RunlogError) -> [UInt8]?
    ) throws(RunlogError) {
        let root = Self.storeRoot(of: path)
        guard mkdir(root, 0o755) == 0 || errno == EEXIST else { throw Self.failure("creating \(root)") }
        try ArtifactFiles.makeDirectories(String(path[..<path.lastIndex(of: "/")!]), below: root)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw Self.failure("opening \(path)") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Self.failure("locking \(path)") }
        }
        defer { flock(descriptor, LOCK_UN) }
        try read(descriptor, apply)
        if let damage { throw RunlogError(.damaged, "\(path): \(damage); nothing is written after damage") }
        guard let payload = try event() else { return }
        guard payload.count <= Self.maxPayload else {
            throw RunlogError(.invalidArgument, "a model event of \(payload.count) bytes is over the limit")
        }
        var bytes: [UInt8] = []
        if validEnd == 0 {
            bytes += Self.magic
            bytes.appendLittleEndian(Self.version)
            bytes.appendLittleEndian(bytes.withUnsafeBytes { CRC32C.checksum($0) })
        }
        bytes.appendLittleEndian(UInt32(payload.count))
        bytes.appendLittleEndian(payload.withUnsafeBytes { CRC32C.checksum($0) })
        bytes += payload
        // A torn tail from a crashed writer goes first: the record is written where it began.
        guard ftruncate(descriptor, off_t(validEnd)) == 0 else { throw Self.failure("truncating \(path)") }
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes {
                pwrite(descriptor, $0.baseAddress! + done, $0.count - done, off_t(validEnd + done))
            }
            guard wrote > 0 else {
                let error = Self.failure("writing \(path)")
                _ = ftruncate(descriptor, off_t(validEnd))
                throw error
            }
            done += wrote
        }
        guard fsync(descriptor) == 0 else { throw Self.failure("syncing \(path)") }
        if validEnd == 0 { try Self.syncDirectory(of: path) }
        validEnd += bytes.count
        try apply(Array(bytes[(bytes.count - payload.count)...]))
    }

    /// Reads from `validEnd` to the end of the file, a record at a time (at most `maxPayload`
    /// bytes held, whatever the file's size says).
    private func read(_ descriptor: Int32, _ apply: ([UInt8]) throws(RunlogError) -> Void) throws(RunlogError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.failure("reading \(path)") }
        let size = Int(info.st_size)
        guard size > validEnd, damage == nil else { return }
        if validEnd == 0 {
            guard size >= Self.headerSize else { return }  // a header cut short: torn
            let header = try bytes(descriptor, at: 0, count: Self.headerSize)
            guard Array(header[0..<8]) == Self.magic,
                UInt32(littleEndianBytes: header[12..<16]) == header[0..<12].withUnsafeBytes({ CRC32C.checksum($0) })
            else {
                damage = "the file does not begin with a model journal header"
                return
            }
            let version = UInt32(littleEndianBytes: header[8..<12])
            guard version == Self.version else {
                damage = "model journal version \(version); this build reads version \(Self.version)"
                return
            }
            validEnd = Self.headerSize
        }
        while size - validEnd >= 8 {
            let head = try bytes(descriptor, at: validEnd, count: 8)
            let length = Int(UInt32(littleEndianBytes: head[0..<4]))
            let crc = UInt32(littleEndianBytes: head[4..<8])
            let end = validEnd + 8 + length
            guard length <= Self.maxPayload, end <= size else {
                if length > Self.maxPayload && end < size {
                    damage = "a record at offset \(validEnd) claims \(length) bytes, over the limit"
                }
                return  // torn: the record reaches past the end of the file
            }
            let payload = try bytes(descriptor, at: validEnd + 8, count: length)
            guard payload.withUnsafeBytes({ CRC32C.checksum($0) }) == crc else {
                if end < size { damage = "the record at offset \(validEnd) fails its checksum" }
                return  // the last record, cut or unwritten: torn
            }
            try apply(payload)
            validEnd = end
        }
    }

    /// `count` bytes at `offset`, read whole (the caller checked the file holds them).
    private func bytes(_ descriptor: Int32, at offset: Int, count: Int) throws(RunlogError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + got, count - got, off_t(offset + got))
            }
            guard n > 0 else {
                if n == 0 { throw RunlogError(.storage, "\(path) ended at \(offset + got) while being read") }
                throw Self.failure("reading \(path)")
            }
            got += n
        }
        return bytes
    }

    private static func storeRoot(of journal: String) -> String {
        // <store>/models/JOURNAL
        let models = journal[..<journal.lastIndex(of: "/")!]
        return String(models[..<models.lastIndex(of: "/")!])
    }

    private static func syncDirectory(of file: String) throws(RunlogError) {
        let directory = String(file[..<file.lastIndex(of: "/")!])
        let handle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard handle >= 0 else { throw failure("opening \(directory)") }
        defer { close(handle) }
        guard fsync(handle) == 0 else { throw failure("syncing \(directory)") }
    }

    static func failure(_ doing: String) -> RunlogError {
        RunlogError(.storage, "\(doing): \(String(cString: strerror(errno)))")
    }
}

extension UInt32 {
    init(littleEndianBytes bytes: ArraySlice<UInt8>) {
        var value: UInt32 = 0
        for (i, byte) in bytes.prefix(4).enumerated() { value |= UInt32(byte) << (8 * i) }
        self = value
    }
}
