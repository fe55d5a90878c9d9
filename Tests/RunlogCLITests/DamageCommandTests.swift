import Foundation
import RunlogReliability
import Testing

/// Every command that reads a damaged run says so on stderr, naming the file and offset, and
/// exits 1 unless `--allow-damaged`; what is printed to a terminal never carries raw control
/// characters from data.
@Suite struct DamageCommandTests {
    @Test func commandsReadingADamagedRunWarnAndExitOne() throws {
        let workspace = try Workspace(importing: false)
        let store = workspace.path + "/runlog-store"
        let (run, segment) = try DamagedRun.make(at: store, keepSnapshot: false)
        let file = String(segment.split(separator: "/").last!)
        let id = run.description
        for arguments in [
            ["scan", id, "loss", "--format", "csv"], ["scan", id, "loss", "--buckets", "4"], ["export", id],
            ["show", id], ["runs"], ["runs", "--format", "json"], ["compare", id, id, "--metric", "loss"],
        ] {
            let refused = try runlog(arguments, in: workspace.path)
            #expect(refused.status == 1, "\(arguments)")
            #expect(refused.err.contains("run \(id) is damaged"), "\(arguments): \(refused.err)")
            #expect(refused.err.contains(file) && refused.err.contains("offset"), "\(arguments): \(refused.err)")
            #expect(refused.err.contains("--allow-damaged"), "\(arguments)")
            let allowed = try runlog(arguments + ["--allow-damaged"], in: workspace.path)
            #expect(allowed.status == 0, "\(arguments): \(allowed.err)")
            #expect(allowed.err.contains("run \(id) is damaged"), "\(arguments)")
            #expect(allowed.out == refused.out, "\(arguments)")
        }
        // What is printed is what is left: fewer points than the 20,000 logged, each as logged.
        let scanned = try runlog(["scan", id, "loss", "--format", "csv", "--allow-damaged"], in: workspace.path)
        let lines = scanned.out.split(separator: "\n").dropFirst()
        #expect(lines.count > 10_000 && lines.count < 20_000)
        #expect(try runlog(["show", id, "--allow-damaged"], in: workspace.path).out.contains("damaged     1 problem"))
    }

    @Test func aWholeRunReadsWithoutAWord() throws {
        let workspace = try Workspace(importing: false)
        let ingested = try runlog(
            ["ingest", "--experiment", "e"], in: workspace.path, input: "loss,0,1.5\nloss,1,1.25\n")
        #expect(ingested.status == 0)
        let scanned = try runlog(["scan", "e/" + runName(ingested.err), "loss"], in: workspace.path)
        #expect(scanned.status == 0 && scanned.err.isEmpty, "\(scanned.err)")
        let listed = try runlog(["runs"], in: workspace.path)
        #expect(listed.status == 0 && listed.err.isEmpty, "\(listed.err)")
    }

    /// The name ingest reported: "run ID (NAME): …".
    private func runName(_ stderr: String) -> String {
        let open = stderr.firstIndex(of: "(")!
        let close = stderr.firstIndex(of: ")")!
        return String(stderr[stderr.index(after: open)..<close])
    }

    @Test func controlCharactersFromDataAreEscapedForTheTerminalOnly() throws {
        let workspace = try Workspace(importing: false)
        let hostile = "\u{1B}]0;owned\u{07}\u{1B}[2J\u{202E}txt"
        let ingested = try runlog(
            ["ingest", "--experiment", "e", "--run-name", "r", "--tag", "note=\(hostile)", "--param", "p=\u{1B}[31m"],
            in: workspace.path, input: "{\"key\": \"lo\u{1B}[1mss\", \"value\": 1}\nloss,1,2\nloss,\u{1B}[2J,3\n")
        #expect(ingested.status == 0)
        // The bad lines are reported with their bytes escaped.
        #expect(!ingested.err.unicodeScalars.contains("\u{1B}") && ingested.err.contains("line 3"), "\(ingested.err)")
        let escaped = "\\x1b]0;owned\\x07\\x1b[2J\\u{202e}txt"
        for arguments in [["show", "e/r"], ["runs"], ["show", "e/nope\u{1B}[2J"], ["tail", "e/r"]] {
            let result = try runlog(arguments, in: workspace.path)
            for text in [result.out, result.err] {
                #expect(
                    !text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" || $0 == "\u{202E}" },
                    "\(arguments)")
            }
        }
        let shown = try runlog(["show", "e/r"], in: workspace.path).out
        #expect(shown.contains(escaped) && shown.contains("\\x1b[31m"), "\(shown)")
        #expect(try runlog(["runs"], in: workspace.path).out.contains("\\x1b[31m"))
        #expect(try runlog(["show", "e/nope\u{1B}[2J"], in: workspace.path).err.contains("nope\\x1b[2J"))
        // Machine formats keep the exact bytes.
        #expect(try runlog(["show", "e/r", "--format", "csv"], in: workspace.path).out.contains(hostile))
        #expect(try runlog(["show", "e/r", "--format", "json"], in: workspace.path).out.contains("\\u001b]0;owned"))
    }
}
