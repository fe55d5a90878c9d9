/// Run metadata, stored as small records in the run's log beside its metric blocks.
public enum RunRecord: Sendable, Hashable {
    case param(key: String, value: String, timestamp: Int64)
    case tag(key: String, value: String, timestamp: Int64)
    /// A named reproducibility input (a dataset digest, the git commit, the command line…).
    case input(name: String, value: String, timestamp: Int64)
    case status(RunStatus, timestamp: Int64)
    /// A run attribute (`experiment_id`, `run_name`…); a later record of the same key overrides.
    case attribute(key: String, value: String, timestamp: Int64)

    /// Limits of the engine's format; the tracking API enforces tighter, MLflow-compatible ones.
    public static let maxKeyBytes = 1024
    public static let maxValueBytes = 1 << 20

    var type: RecordType {
        switch self {
        case .param: .param
        case .tag: .tag
        case .input: .input
        case .status: .status
        case .attribute: .attribute
        }
    }

    /// Payload grammar — text records (param, tag, input): `timestamp:i64 keyLength:u16 key
    /// valueLength:u32 value`, UTF-8; status: `timestamp:i64 status:u8`.
    func payload() -> [UInt8] {
        var bytes: [UInt8] = []
        switch self {
        case .param(let key, let value, let timestamp), .tag(let key, let value, let timestamp),
            .input(let key, let value, let timestamp), .attribute(let key, let value, let timestamp):
            bytes.appendLittleEndian(timestamp)
            bytes.appendString(key, lengthType: UInt16.self)
            bytes.appendString(value, lengthType: UInt32.self)
        case .status(let status, let timestamp):
            bytes.appendLittleEndian(timestamp)
            bytes.append(status.rawValue)
        }
        return bytes
    }

    static func decode(type: RecordType, payload: UnsafeRawBufferPointer) throws(DecodeError) -> RunRecord {
        var reader = ByteReader(payload)
        let timestamp = try reader.read(Int64.self, "timestamp")
        let record: RunRecord
        switch type {
        case .param, .tag, .input, .attribute:
            let key = try reader.readString(lengthType: UInt16.self, "key")
            let value = try reader.readString(lengthType: UInt32.self, "value")
            switch type {
            case .param: record = .param(key: key, value: value, timestamp: timestamp)
            case .tag: record = .tag(key: key, value: value, timestamp: timestamp)
            case .input: record = .input(name: key, value: value, timestamp: timestamp)
            default: record = .attribute(key: key, value: value, timestamp: timestamp)
            }
        case .status:
            let raw = try reader.read(UInt8.self, "status")
            guard let status = RunStatus(rawValue: raw) else { throw DecodeError("unknown run status \(raw)") }
            record = .status(status, timestamp: timestamp)
        case .block:
            throw DecodeError("record type \(type) is not run metadata")
        }
        guard reader.remaining == 0 else { throw DecodeError("\(reader.remaining) bytes after the record's fields") }
        return record
    }

    /// Checks the engine's limits; the message names the field and the rule.
    func validate() throws(StoreError) {
        switch self {
        case .param(let key, let value, _), .tag(let key, let value, _), .input(let key, let value, _),
            .attribute(let key, let value, _):
            try KeyRules.validateKey(key, field: "\(type) key")
            guard value.utf8.count <= RunRecord.maxValueBytes else {
                throw StoreError(
                    .invalidArgument, "\(type) value of \(value.utf8.count) bytes exceeds \(RunRecord.maxValueBytes)")
            }
        case .status:
            break
        }
    }
}

public enum RunStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case running = 1, scheduled = 2, finished = 3, failed = 4, killed = 5

    public var description: String {
        switch self {
        case .running: "RUNNING"
        case .scheduled: "SCHEDULED"
        case .finished: "FINISHED"
        case .failed: "FAILED"
        case .killed: "KILLED"
        }
    }
}

/// The engine's rules for keys of series, params, tags and inputs.
enum KeyRules {
    static func validateKey(_ key: String, field: String) throws(StoreError) {
        let length = key.utf8.count
        guard length > 0 else { throw StoreError(.invalidArgument, "\(field) is empty") }
        guard length <= RunRecord.maxKeyBytes else {
            throw StoreError(.invalidArgument, "\(field) of \(length) bytes exceeds \(RunRecord.maxKeyBytes)")
        }
        guard !key.utf8.contains(0) else { throw StoreError(.invalidArgument, "\(field) contains a NUL byte") }
    }
}

extension RecordType: CustomStringConvertible {
    package var description: String {
        switch self {
        case .block: "block"
        case .param: "param"
        case .tag: "tag"
        case .status: "status"
        case .input: "input"
        case .attribute: "attribute"
        }
    }
}
