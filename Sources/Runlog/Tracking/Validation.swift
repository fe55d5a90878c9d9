import Foundation
import RunlogStore

/// The rules for names, keys and values (ARCHITECTURE.md, "Data model"), as MLflow has them.
enum Validation {
    static let maxKeyLength = 250
    static let maxParamValueLength = 6000
    static let maxTagValueLength = 8000
    static let maxExperimentNameLength = 500
    static let maxRunNameLength = 250
    static let maxInputValueLength = 8000

    /// Keys of metrics, params, tags and inputs: 1–250 characters of letters, digits and
    /// `_ - . / : space`, with no empty or `..` path segment.
    static func key(_ key: String, _ what: String) throws(RunlogError) {
        guard !key.isEmpty else { throw RunlogError(.invalidArgument, "\(what) key is empty") }
        guard key.count <= maxKeyLength else {
            throw RunlogError(
                .invalidArgument,
                "\(what) key \"\(key.prefix(40))…\" is \(key.count) characters; the limit is \(maxKeyLength)")
        }
        if let bad = key.unicodeScalars.first(where: { !isKeyCharacter($0) }) {
            throw RunlogError(
                .invalidArgument,
                "\(what) key \(quoted(key)) contains \(describe(bad)); keys may hold letters, digits and _ - . / : space"
            )
        }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty {
                throw RunlogError(
                    .invalidArgument,
                    "\(what) key \"\(key)\" has an empty path segment (a leading, trailing or double /)")
            }
            if segment == ".." {
                throw RunlogError(.invalidArgument, "\(what) key \"\(key)\" has a \"..\" path segment")
            }
        }
    }

    /// A param's key and value (a value of up to 6,000 characters).
    static func param(_ key: String, _ value: String) throws(RunlogError) {
        try self.key(key, "param")
        try self.value(value, of: "param", key: key, limit: maxParamValueLength)
    }

    /// A tag's key and value (a value of up to 8,000 characters).
    static func tag(_ key: String, _ value: String) throws(RunlogError) {
        try self.key(key, "tag")
        try self.value(value, of: "tag", key: key, limit: maxTagValueLength)
    }

    /// Whether a param needs writing: false when `existing` is the same value (write-once), an
    /// error naming both values when it is another.
    static func paramIsNew(_ key: String, _ value: String, existing: String?, run: RunID) throws(RunlogError) -> Bool {
        guard let existing else { return true }
        guard existing == value else {
            throw RunlogError(
                .paramConflict,
                "param \"\(key)\" of run \(run) is already \"\(existing)\"; it cannot change to \"\(value)\"")
        }
        return false
    }

    /// `value` as JSON with sorted keys and unescaped slashes: the stable text of a record's value.
    static func canonicalJSON<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func value(_ value: String, of what: String, key: String, limit: Int) throws(RunlogError) {
        guard value.count <= limit else {
            throw RunlogError(
                .invalidArgument, "\(what) \"\(key)\" has a value of \(value.count) characters; the limit is \(limit)")
        }
        guard !value.unicodeScalars.contains("\0") else {
            throw RunlogError(.invalidArgument, "\(what) \"\(key)\" has a value containing a NUL character")
        }
    }

    /// Experiment and run names: 1…`limit` characters, no control characters.
    static func name(_ name: String, _ what: String, limit: Int) throws(RunlogError) {
        guard !name.isEmpty else { throw RunlogError(.invalidArgument, "\(what) name is empty") }
        guard name.count <= limit else {
            throw RunlogError(.invalidArgument, "\(what) name is \(name.count) characters; the limit is \(limit)")
        }
        if let bad = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw RunlogError(
                .invalidArgument, "\(what) name \(quoted(String(name.prefix(60)))) contains \(describe(bad))")
        }
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "_", "-", ".", "/", " ", ":": true
        default: scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal
        }
    }

    /// `text` in quotes, with control characters written as U+XXXX so a message never carries them.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                out += "U+" + String(scalar.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F
            ? "\"\(Character(scalar))\"" : "U+\(String(scalar.value, radix: 16, uppercase: true))"
    }
}
