import RunlogStore

/// The one error type of the tracking API. `code` says what kind of failure it is and can grow
/// without breaking callers; `message` names the field, rule or value at fault; `underlying`
/// carries a storage error where there is one, and `column` the 1-based position of the offending
/// token in a filter expression.
public struct RunlogError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidArgument, paramConflict, notFound, alreadyExists, filterSyntax, filterType, storage, damaged
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A key, name or value breaks a rule (length, characters, path segments).
        public static let invalidArgument = Code(.invalidArgument)
        /// A param was logged again with a different value.
        public static let paramConflict = Code(.paramConflict)
        /// No such experiment, run or metric.
        public static let notFound = Code(.notFound)
        /// An experiment with that name (or id) exists.
        public static let alreadyExists = Code(.alreadyExists)
        /// A filter or order-by expression does not parse.
        public static let filterSyntax = Code(.filterSyntax)
        /// A filter compares a column with a value of the wrong type, or names an unknown column.
        public static let filterType = Code(.filterType)
        /// The storage engine failed; `underlying` is the `StoreError`.
        public static let storage = Code(.storage)
        /// A run's log is damaged, so the answer would be incomplete; `underlying` is the
        /// `RunDamage`. Pass `allowDamaged: true` to read what is left.
        public static let damaged = Code(.damaged)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let column: Int?
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, column: Int? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.column = column
        self.underlying = underlying
    }

    /// The engine's error, when the failure came from storage.
    public var storeError: StoreError? { underlying as? StoreError }

    /// What is damaged, when the query refused a damaged run.
    public var damage: RunDamage? { underlying as? RunDamage }

    public var description: String {
        var text = message
        if let underlying { text += ": \(underlying)" }
        return text
    }

    static func storage(_ doing: String, _ error: StoreError) -> RunlogError {
        RunlogError(.storage, doing, underlying: error)
    }
}

/// Runs `body`, turning a storage error into a `RunlogError` that says what was being done.
func storage<T>(_ doing: @autoclosure () -> String, _ body: () throws(StoreError) -> T) throws(RunlogError) -> T {
    do {
        return try body()
    } catch {
        throw RunlogError.storage(doing(), error)
    }
}

/// A run whose log was damaged where it was read: records or segments skipped or cut off, so
/// its histories may have holes and its summaries may miss points. Each problem names the file
/// and offset.
public struct RunDamage: Error, Sendable, CustomStringConvertible {
    public let run: RunID
    public let problems: [StoreProblem]

    public init(run: RunID, problems: [StoreProblem]) {
        self.run = run
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
