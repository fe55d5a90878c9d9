import Foundation
import RunlogReliability
import Testing

/// `runlog import mlflow` against a hostile mlruns directory: every bad run and experiment is a
/// clear per-item error, links are reported and never followed, and the good runs are imported.
@Suite struct ImportHostileTests {
    @Test func aHostileMLrunsCostsOnlyWhatIsBad() throws {
        let workspace = try Workspace(importing: false)
        let expectation = try HostileMLruns.make(at: workspace.path + "/mlruns", outside: workspace.path + "/outside")
        let result = try runlog(["import", "mlflow", "mlruns"], in: workspace.path)
        #expect(result.status == 1, "\(result.err)")
        #expect(
            result.out.hasPrefix(
                "imported 4 runs (3 points, 0 artifacts) from 1 experiments; 0 runs already present; "
                    + "1 experiments could not be read; 7 runs could not be read"), "\(result.out)")
        let lines = result.err.split(separator: "\n").map(String.init)
        for (directory, word) in expectation.refusedRuns {
            let relative = "mlruns" + directory.dropFirst((workspace.path + "/mlruns").count)
            #expect(lines.contains { $0.contains(relative + ":") && $0.contains(word) }, "\(relative): \(word)")
        }
        for (path, word) in expectation.skipped {
            let relative = "mlruns" + path.dropFirst((workspace.path + "/mlruns").count)
            #expect(lines.contains { $0.contains(relative) && $0.contains(word) }, "\(relative)")
        }
        #expect(lines.contains { $0.contains("mlruns/2:") && $0.contains("1 runs are not imported") })
        let listed = try runlog(["runs", "--format", "csv"], in: workspace.path)
        #expect(listed.out.split(separator: "\n").count == 1 + expectation.imported.count, "\(listed.out)")
        for (id, name) in expectation.imported {
            #expect(try runlog(["show", id], in: workspace.path).out.contains(name))
        }
        let linked = try runlog(["show", expectation.linkedParam.run, "--format", "csv"], in: workspace.path).out
        #expect(linked.contains("param,lr,0.01") && !linked.contains("param,\(expectation.linkedParam.key)"))
        // A second import adds nothing and reports the same.
        let again = try runlog(["import", "mlflow", "mlruns"], in: workspace.path)
        #expect(again.out.contains("imported 0 runs") && again.out.contains("4 runs already present"))
    }
}
