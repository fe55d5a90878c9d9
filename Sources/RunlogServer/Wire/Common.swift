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
    let key: String?
    let value: Double?
    let timestamp: Int64?
    let step: Int64?
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

    /// A decoding failure as MLflow words it: which field, what was wrong.
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
