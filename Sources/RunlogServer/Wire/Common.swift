import Foundation
import Runlog

/// `{"key", "value"}`, how MLflow sends params and tags.
struct KeyValue: Codable, Sendable {
    let key: String
    let value: String

    /// A map as MLflow's list, sorted by key.
    static func list(_ map: [String: String]) -> [KeyValue] {
        map.keys.sorted().map { KeyValue(key: $0, value: map[$0]!) }
    }

    /// A list of `{"key", "value"}` objects of a `log-batch` body, at most `limit` of them.
    static func list(_ reader: inout JSONReader, limit: Int, _ what: String) throws(MLflowError) -> [KeyValue] {
        var pairs: [KeyValue] = []
        var beyond = 0
        try reader.array { (reader, _) throws(MLflowError) in
            guard pairs.count < limit else {
                beyond += 1
                return try reader.skip()
            }
            var key: String?
            var value: String?
            try reader.object { (reader, field) throws(MLflowError) in
                guard !reader.null() else { return }
                switch field {
                case "key": key = try reader.string()
                case "value": value = try reader.string()
                default: try reader.skip()
                }
            }
            guard let key else {
                throw MLflowError.invalid("Missing value for required parameter '\(what)[\(pairs.count)].key'")
            }
            guard let value else {
                throw MLflowError.invalid("Missing value for required parameter '\(what)[\(pairs.count)].value'")
            }
            pairs.append(KeyValue(key: key, value: value))
        }
        if beyond > 0 { throw LogBatchRequest.tooMany(limit + beyond, what) }
        return pairs
    }

    /// MLflow's list as a map; of repeated keys, the last wins.
    static func dictionary(_ pairs: [KeyValue]) -> [String: String] {
        var map: [String: String] = [:]
        for pair in pairs { map[pair.key] = pair.value }
        return map
    }
}

/// A metric point on the wire. Values are numbers, or the strings "NaN", "Infinity" and
/// "-Infinity" (the coders below are set up for them).
struct WireMetric: Codable, Sendable {
    let key: String
    let value: Double
    let timestamp: Int64
    let step: Int64
    var run_id: String?
}

/// A metric as a request carries it: everything but the key may be missing, which MLflow
/// reports by name.
struct IncomingMetric: Decodable, Sendable {
    var key: String?
    var value: Double?
    var timestamp: Int64?
    var step: Int64?
    /// The logged model the value belongs to (MLflow 3), and the dataset it was measured on.
    var model_id: String?
    var dataset_name: String?
    var dataset_digest: String?

    /// One metric object of a `log-batch` body; `keys` holds the keys of the metrics before it.
    init(_ reader: inout JSONReader, keys: inout JSONReader.StringCache) throws(MLflowError) {
        try reader.object { (reader, field) throws(MLflowError) in
            guard !reader.null() else { return }
            switch field {
            case "key": key = try reader.string(cache: &keys)
            case "value": value = try reader.double()
            case "timestamp": timestamp = try reader.int64()
            case "step": step = try reader.int64()
            case "model_id": model_id = try reader.string()
            case "dataset_name": dataset_name = try reader.string()
            case "dataset_digest": dataset_digest = try reader.string()
            default: try reader.skip()
            }
        }
    }
}

enum WireCoding {
    /// Encodes non-finite doubles as MLflow does (`"NaN"`, `"Infinity"`, `"-Infinity"`);
    /// finite ones in their shortest exact form.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    /// A decoding failure as MLflow words it: which field, what was wrong. With the body, a value
    /// of the wrong type is named with its value and Python's name of its type, as MLflow's server
    /// says it ("Invalid value 31 for parameter 'run_id' supplied:  Hint: Value was of type 'int'.").
    static func describe(_ error: DecodingError, body: Data) -> String {
        guard case .typeMismatch(_, let context) = error, let last = context.codingPath.last,
            last.intValue == nil,
            let root = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        else { return describe(error) }
        var value: Any? = root
        for key in context.codingPath {
            if let index = key.intValue {
                value = (value as? [Any]).flatMap { index < $0.count ? $0[index] : nil }
            } else {
                value = (value as? [String: Any])?[key.stringValue]
            }
        }
        guard let value, let (text, type) = pythonRepresentation(value) else { return describe(error) }
        return
            "Invalid value \(text) for parameter '\(last.stringValue)' supplied:  Hint: Value was of type '\(type)'. "
            + "See the API docs for more information about request parameters."
    }

    /// A JSON value as MLflow's message shows it (`json.dumps`), and Python's name of its type.
    private static func pythonRepresentation(_ value: Any) -> (String, String)? {
        switch value {
        case let number as NSNumber where "\(type(of: number))".contains("Boolean"):
            return (number.boolValue ? "true" : "false", "bool")
        case let number as NSNumber where String(cString: number.objCType) == "d":
            return ("\(number.doubleValue)", "float")
        case let number as NSNumber:
            return ("\(number.int64Value)", "int")
        case is NSNull:
            return ("null", "NoneType")
        default:
            guard
                let data = try? JSONSerialization.data(
                    withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            else { return nil }
            let type = value is String ? "str" : value is [Any] ? "list" : "dict"
            return (String(decoding: data.prefix(200), as: UTF8.self), type)
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty
                ? "the body" : "'\(names.joined(separator: "."))'".replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "The request body must be a JSON object"
        case .typeMismatch(let type, let context):
            return "Invalid value for \(path(context)): expected \(describe(type))"
        case .valueNotFound(let type, let context):
            return "Missing value for \(path(context)): expected \(describe(type))"
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "Missing value for required parameter '\(key.stringValue)'\(parent)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "The request body is not valid JSON (\(context.debugDescription))"
                : "Invalid value for \(path(context)): \(context.debugDescription)"
        @unknown default:
            return "The request body could not be read"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int64.Type, is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)"
        }
    }
}
