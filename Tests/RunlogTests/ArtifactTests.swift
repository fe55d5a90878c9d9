import Foundation
import Runlog
import RunlogReliability
import Testing

@Suite struct ArtifactTests {
    @Test func aStoredArtifactIsRecordedListedAndVerified() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "a"), captureEnvironment: false)
        let source = directory.path + "/weights.bin"
        let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try bytes.write(to: URL(fileURLWithPath: source))
        let artifact = try run.logArtifact(file: source, path: "model/weights.bin")
        #expect(artifact.size == 100_000)
        #expect(artifact.sha256 == (try sha256Digest(ofFile: source)).dropFirst("sha256:".count).description)
        #expect(FileManager.default.fileExists(atPath: source), "copied, not moved")
        try run.finish()
        #expect(try store.run(run.id).artifacts["model/weights.bin"] == artifact)
        #expect(try store.listArtifacts(of: run.id).map(\.path) == ["model"])
        #expect(try store.verifyArtifacts(of: run.id).isEmpty)

        let file = store.artifactDirectory(of: run.id) + "/model/weights.bin"
        var damaged = bytes
        damaged[500] ^= 1
        try damaged.write(to: URL(fileURLWithPath: file))
        #expect(
            try store.verifyArtifacts(of: run.id) == [
                "artifact model/weights.bin: SHA-256 \(try sha256Digest(ofFile: file).dropFirst(7)), \(artifact.sha256) recorded"
            ])
        try bytes.prefix(10).write(to: URL(fileURLWithPath: file))
        #expect(try store.verifyArtifacts(of: run.id) == ["artifact model/weights.bin: 10 bytes, 100000 recorded"])
        try FileManager.default.removeItem(atPath: file)
        #expect(try store.verifyArtifacts(of: run.id).first?.contains("cannot be opened") == true)
    }

    @Test(arguments: ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\u{7}b", String(repeating: "x", count: 1001)])
    func badPathsAreRefusedAndWriteNothing(_ path: String) throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        let run = try store.startRun(in: try store.experiment(named: "a"), captureEnvironment: false)
        let source = directory.path + "/f"
        try Data("x".utf8).write(to: URL(fileURLWithPath: source))
        #expect(throws: RunlogError.self) { try run.logArtifact(file: source, path: path) }
        try run.finish()
        #expect(try store.run(run.id).artifacts.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store.artifactDirectory(of: run.id)))
    }
}

/// What a writer that died mid-upload leaves is removed at the next start or `gc` (issue 33,
/// point 9); a live process's files are not.
@Suite struct AbandonedUploadTests {
    @Test func deadWritersTemporaryFilesGoAndLiveOnesStay() throws {
        let directory = TemporaryDirectory()
        let store = try makeStore(directory)
        defer { store.engine.close() }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let incoming = store.path + "/artifacts/.incoming"
        let runDirectory = store.path + "/artifacts/0123456789abcdef0123456789abcdef/plots"
        let modelDirectory = store.path + "/models/m-00000000000000000000000000000000/artifacts"
        for folder in [incoming, runDirectory, modelDirectory] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let gone = [
            incoming + "/upload-\(dead)-1", runDirectory + "/.tmp-\(dead)-2", modelDirectory + "/.tmp-\(dead)-3",
        ]
        let kept = [
            incoming + "/upload-\(getpid())-4", runDirectory + "/.tmp-\(getpid())-5", incoming + "/upload-6",
            runDirectory + "/kept.png",
        ]
        for file in gone + kept { FileManager.default.createFile(atPath: file, contents: Data("x".utf8)) }
        let removed = store.removeAbandonedUploads()
        #expect(Set(removed) == Set(gone))
        #expect(gone.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        #expect(kept.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        // An upload named without a pid (an older server's) goes once it is an hour old.
        let old = incoming + "/upload-6"
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: old)
        #expect(store.removeAbandonedUploads() == [old])
    }
}
