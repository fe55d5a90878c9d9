import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An `mlruns` directory built to hurt an importer, beside good runs: a meta.yaml nested
/// 200,000 deep, a billion-laughs meta.yaml, one over the size limit, a param linked to
/// `/etc/hostname`, a run directory linked outside the tree, a FIFO as a metric file, garbage and
/// overflowing steps, an over-long metric line, and an experiment whose name holds a NUL. What an
/// import must do with it is in `expectation`.
package enum HostileMLruns {
    package struct Expectation: Sendable {
        /// Runs imported whole (id → name).
        package var imported: [String: String] = [:]
        /// Run directories that must be reported and not imported, with a word the report holds.
        package var refusedRuns: [String: String] = [:]
        /// Paths reported and skipped (links, never followed, and special files), with a word of
        /// the report.
        package var skipped: [String: String] = [:]
        /// The experiment directory whose name is refused (its one run goes with it).
        package var refusedExperiment = ""
        /// The param a link tried to bring in: it must not be imported.
        package var linkedParam = (run: "", key: "")
    }

    static func id(_ n: Int) -> String { String(format: "%032x", 0xabc0_0000 + n) }

    static func runMeta(_ id: String, name: String, experiment: String) -> String {
        """
        artifact_uri: ''
        end_time: 1700000001000
        experiment_id: '\(experiment)'
        lifecycle_stage: active
        run_id: \(id)
        run_name: \(name)
        run_uuid: \(id)
        source_type: 4
        start_time: 1700000000000
        status: 3
        tags: []
        user_id: campaign

        """
    }

    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Makes the directory at `root` (which must not exist); `outside` is a directory beside it
    /// that the links point into.
    package static func make(at root: String, outside: String) throws -> Expectation {
        var expectation = Expectation()
        let experiment = root + "/1"
        try write(
            experiment + "/meta.yaml",
            "artifact_location: ''\ncreation_time: 1700000000000\nexperiment_id: '1'\nlifecycle_stage: active\nname: hostile\n"
        )
        func run(_ n: Int, _ name: String, meta: String? = nil, metric: String? = "1700000000000 0.5 0\n") throws
            -> (id: String, directory: String)
        {
            let id = id(n)
            let directory = experiment + "/" + id
            try write(directory + "/meta.yaml", meta ?? runMeta(id, name: name, experiment: "1"))
            try write(directory + "/params/lr", "0.01")
            if let metric { try write(directory + "/metrics/loss", metric) }
            return (id, directory)
        }
        // Good runs: one plain, one whose id is all digits (YAML would read an integer), one with
        // a param linked out of the tree (the link is skipped, the run imported).
        expectation.imported[try run(1, "plain").id] = "plain"
        let digits = "12345678901234567890123456789012"
        try write(experiment + "/\(digits)/meta.yaml", runMeta(digits, name: "digits", experiment: "1"))
        try write(experiment + "/\(digits)/metrics/loss", "1700000000000 0.25 1\n")
        expectation.imported[digits] = "digits"
        let linked = try run(2, "linked")
        try FileManager.default.createSymbolicLink(
            atPath: linked.directory + "/params/host", withDestinationPath: "/etc/hostname")
        expectation.imported[linked.id] = "linked"
        expectation.skipped[linked.directory + "/params/host"] = "symbolic link"
        expectation.linkedParam = (linked.id, "host")

        // Refused runs, each with the word its report names.
        let nested = try run(
            3, "nested",
            meta: runMeta(id(3), name: "nested", experiment: "1") + "x: " + String(repeating: "[", count: 200_000)
                + "\n")
        expectation.refusedRuns[nested.directory] = "nested deeper"
        var laughs =
            runMeta(id(4), name: "laughs", experiment: "1")
            + "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for level in 1..<12 {
            laughs +=
                "\(Character(UnicodeScalar(97 + level)!)): &\(Character(UnicodeScalar(97 + level)!)) ["
                + Array(repeating: "*\(Character(UnicodeScalar(96 + level)!))", count: 9).joined(separator: ",") + "]\n"
        }
        expectation.refusedRuns[try run(4, "laughs", meta: laughs).directory] = "anchor or alias"
        let huge = runMeta(id(5), name: "huge", experiment: "1") + "# " + String(repeating: "x", count: 2 << 20) + "\n"
        expectation.refusedRuns[try run(5, "huge", meta: huge).directory] = "bytes, more than"
        let fifo = try run(6, "fifo", metric: nil)
        try FileManager.default.createDirectory(atPath: fifo.directory + "/metrics", withIntermediateDirectories: true)
        guard mkfifo(fifo.directory + "/metrics/loss", 0o644) == 0 else { throw HostileMLrunsError("mkfifo failed") }
        // A FIFO as a metric file (opening it would block): skipped, the run imported without it.
        expectation.skipped[fifo.directory + "/metrics/loss"] = "not a regular file"
        expectation.imported[fifo.id] = "fifo"
        expectation.refusedRuns[try run(7, "badstep", metric: "1700000000000 1.5 notastep\n").directory] =
            "not a 64-bit integer"
        expectation.refusedRuns[try run(8, "overflow", metric: "1700000000000 1.5 99999999999999999999\n").directory] =
            "not a 64-bit integer"
        let long = "1700000000000 1." + String(repeating: "5", count: 2000) + " 0\n"
        expectation.refusedRuns[try run(9, "longline", metric: long).directory] = "longer than"

        // A run directory linked out of the tree: reported, not followed.
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try write(outside + "/\(id(10))/meta.yaml", runMeta(id(10), name: "outside", experiment: "1"))
        try FileManager.default.createSymbolicLink(
            atPath: experiment + "/\(id(10))", withDestinationPath: outside + "/\(id(10))")
        expectation.skipped[experiment + "/\(id(10))"] = "symbolic link"

        // An experiment whose name holds a NUL: it alone is refused.
        let bad = root + "/2"
        try write(
            bad + "/meta.yaml",
            "artifact_location: ''\ncreation_time: 1700000000000\nexperiment_id: '2'\nlifecycle_stage: active\nname: \"bad\\0name\"\n"
        )
        try write(bad + "/\(id(11))/meta.yaml", runMeta(id(11), name: "orphan", experiment: "2"))
        expectation.refusedExperiment = bad
        return expectation
    }
}

struct HostileMLrunsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
