/// The one error type of the engine.
///
/// `code` says what kind of failure it is (and can grow without breaking callers); `message` says
/// what the engine was doing; `location` names the file and byte offset of corrupt data; and
/// `underlying` carries the cause (an `errno`, a decode failure).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case io, corruption, locked, notFound, invalidArgument, unsupportedVersion, failed, closed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A system call failed (open, read, write, fsync, rename…).
        public static let io = Code(.io)
        /// Bytes read from disk are not what the format allows.
        public static let corruption = Code(.corruption)
        /// Another writer holds the run.
        public static let locked = Code(.locked)
        /// The store or run does not exist.
        public static let notFound = Code(.notFound)
        /// The caller passed something the engine refuses (empty key, oversized value…).
        public static let invalidArgument = Code(.invalidArgument)
        /// The data was written by a newer format version than this build reads.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// An earlier write or fsync failed; the writer refuses all further work.
        public static let failed = Code(.failed)
        /// The writer or reader was closed.
        public static let closed = Code(.closed)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let location: DiskLocation?
    public let underlying: (any Error)?

    public init(
        _ code: Code, _ message: String, location: DiskLocation? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.location = location
        self.underlying = underlying
    }

    /// Whether a file it needed was gone: a segment a compaction replaced and deleted since the
    /// blocks naming it were taken. A scan that has handed out nothing yet takes the new blocks and
    /// tries again.
    public var isMissingFile: Bool { (underlying as? SystemError)?.isMissingFile ?? false }

    public var description: String {
        var text = message
        if let location { text += " (\(location))" }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}

/// A byte position in a file of the store.
public struct DiskLocation: Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let offset: Int64

    public init(file: String, offset: Int64) {
        self.file = file
        self.offset = offset
    }

    public var description: String { "\(file) at offset \(offset)" }
}
