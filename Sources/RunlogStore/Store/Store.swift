import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A store: a directory holding one append-only log per run.
///
/// ```
/// STORE                      marker: "runlog store format 1\n"
/// runs/<run id>/LOCK         advisory lock of the run's writer; holds its pid
/// runs/<run id>/00000001.segment, 00000002.segment, …
/// ```
public final class Store: Sendable {
    public let path: String
    public let options: StoreOptions
    /// Background compaction, when `options.backgroundCompaction` is on.
    let compactor: Compactor?
    static let markerName = "STORE"
    static let formatVersion = 1

    var fileSystem: any FileSystem { options.fileSystem }
    var runsDirectory: String { path + "/runs" }

    private init(path: String, options: StoreOptions) throws(StoreError) {
        self.path = path
        self.options = options
        self.compactor =
            options.backgroundCompaction
            ? try Compactor(fileSystem: options.fileSystem, runsDirectory: path + "/runs", options: options) : nil
    }

    deinit {
        compactor?.stop()
    }

    /// Stops background work: a compaction under way is cancelled (its output discarded, the run
    /// untouched) and waited for. Open writers and readers stay usable.
    public func close() {
        compactor?.stop()
    }

    /// Opens the store at `path`, creating it when `create` is set and it does not exist.
    public static func open(at path: String, options: StoreOptions = StoreOptions(), create: Bool = true)
        throws(StoreError) -> Store
    {
        try options.validate()
        let store = try Store(path: path, options: options)
        do throws(StoreError) {
            try store.prepare(create: create)
        } catch {
            store.close()
            throw error
        }
        return store
    }

    private func prepare(create: Bool) throws(StoreError) {
        let marker = path + "/" + Store.markerName
        let existing = fileSystem.exists(path)
        if existing.exists && !existing.isDirectory {
            throw StoreError(.invalidArgument, "\(path) is a file, not a store directory")
        }
        if fileSystem.exists(marker).exists {
            try checkMarker(marker)
            return
        }
        guard create else { throw StoreError(.notFound, "no Runlog store at \(path)") }
        do {
            // Another process may be creating the same store: what it makes on the way is no obstacle,
            // and once its marker is in place the store is simply there.
            if existing.exists {
                let entries = try fileSystem.contentsOfDirectory(path)
                if entries.contains(Store.markerName) {
                    try checkMarker(marker)
                    return
                }
                if entries.contains(where: { $0 != "runs" && !$0.hasPrefix(Store.markerName + ".tmp-") }) {
                    throw StoreError(.invalidArgument, "\(path) is a non-empty directory without a Runlog STORE marker")
                }
            }
            try createDirectories(path)
            try fileSystem.createDirectory(runsDirectory)
            // The marker appears whole or not at all: written aside, then renamed into place.
            let temporary = marker + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let file = try fileSystem.open(temporary, writable: true, create: true)
            try file.writeAll(Array("runlog store format \(Store.formatVersion)\n".utf8), at: 0)
            try file.sync()
            try file.close()
            try fileSystem.rename(temporary, to: marker)
            try fileSystem.syncDirectory(path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "creating store \(path)", underlying: error)
        }
    }

    /// Creates `path` and any missing parent directories.
    private func createDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if !fileSystem.exists(prefix).isDirectory { try fileSystem.createDirectory(prefix) }
        }
    }

    private func checkMarker(_ marker: String) throws(StoreError) {
        let text: String
        do {
            let file = try fileSystem.open(marker, writable: false, create: false)
            defer { try? file.close() }  // read-only
            text = String(decoding: try file.read(count: 256, at: 0), as: UTF8.self)
        } catch {
            throw StoreError(.io, "reading \(marker)", underlying: error)
        }
        let prefix = "runlog store format "
        guard text.hasPrefix(prefix),
            let version = Int(text.dropFirst(prefix.count).prefix { $0 != "\n" })
        else { throw StoreError(.corruption, "\(marker) is not a Runlog store marker") }
        guard version <= Store.formatVersion else {
            throw StoreError(
                .unsupportedVersion,
                "store \(path) has format \(version); this build reads formats up to \(Store.formatVersion)")
        }
    }

    package func directory(of run: RunID) -> String { runsDirectory + "/" + run.description }

    /// The runs of the store, in id order.
    public func runs() throws(StoreError) -> [RunID] {
        do {
            return try fileSystem.contentsOfDirectory(runsDirectory).compactMap(RunID.init).sorted()
        } catch {
            throw StoreError(.io, "listing runs of \(path)", underlying: error)
        }
    }

    /// Creates a run and returns its writer.
    public func createRun(_ id: RunID = .random()) throws(StoreError) -> RunWriter {
        let directory = directory(of: id)
        guard !fileSystem.exists(directory).exists else {
            throw StoreError(.invalidArgument, "run \(id) already exists")
        }
        do {
            try fileSystem.createDirectory(directory)
            if options.durability != .never { try fileSystem.syncDirectory(runsDirectory) }
        } catch {
            throw StoreError(.io, "creating run \(id)", underlying: error)
        }
        return try openWriter(id)
    }

    /// Opens an existing run for writing: takes its lock, reads its log, and truncates a torn tail
    /// left by a crashed writer (reported in `RunWriter.recovery` and logged).
    public func openWriter(_ id: RunID) throws(StoreError) -> RunWriter {
        let directory = directory(of: id)
        guard fileSystem.exists(directory).isDirectory else { throw StoreError(.notFound, "no run \(id) in \(path)") }
        let lockFile = try lock(id, directory)
        do throws(StoreError) {
            let (loader, _) = try RunLogLoader.open(
                fileSystem: fileSystem, directory: directory, runID: id, useSnapshot: options.indexSnapshots)
            var recovery = RecoveryReport(problems: loader.problems)
            for problem in loader.problems { options.logger.warning("run \(id): \(problem)") }
            var (sequence, offset) = loader.position ?? (1, 0)
            if let torn = loader.tornTail {
                try truncate(torn)
                recovery.truncatedTail = torn
                options.logger.notice("run \(id): truncated \(torn)")
            }
            // A damaged segment is never written into: its bytes stay for `verify` and for forensics.
            if loader.skippedSegments.contains(sequence) || loader.damagedTail {
                (sequence, offset) = (sequence + 1, 0)
            }
            try removeReplaced(loader, directory)
            try removeLiveCompactionLeftovers(directory)
            let appender: SegmentAppender
            do {
                appender = try SegmentAppender(
                    fileSystem: fileSystem, directory: directory, runID: id, segmentSize: options.segmentSize,
                    syncOnRoll: options.durability != .never, sequence: sequence, offset: offset)
            } catch {
                throw StoreError(.io, "opening the active segment of run \(id)", underlying: error)
            }
            return try RunWriter(
                runID: id, recovery: recovery, index: loader.index, options: options,
                files: SegmentFiles(fileSystem: fileSystem, directory: directory), appender: appender,
                lockFile: lockFile, base: loader.base,
                scheduleLive: liveScheduler(),
                onClose: { [compactor] run in compactor?.schedule(run) })
        } catch {
            try? lockFile.close()  // releasing the lock on the way out; the open error is what matters
            throw error
        }
    }

    /// Opens a run for reading. Works while another process writes it; `refresh()` reads what it
    /// has flushed since. The run's index snapshot spares reading its whole log when it checks out.
    public func openReader(_ id: RunID) throws(StoreError) -> RunReader {
        try openReader(id, useSnapshot: options.indexSnapshots)
    }

    func openReader(_ id: RunID, useSnapshot: Bool) throws(StoreError) -> RunReader {
        let directory = directory(of: id)
        let loader: RunLogLoader
        let fromSnapshot: Bool
        do throws(StoreError) {
            // No run directory fails the listing: asked only then, whether it is there costs
            // opening a run nothing.
            (loader, fromSnapshot) = try RunLogLoader.open(
                fileSystem: fileSystem, directory: directory, runID: id, useSnapshot: useSnapshot)
        } catch {
            guard fileSystem.exists(directory).isDirectory else {
                throw StoreError(.notFound, "no run \(id) in \(path)")
            }
            throw error
        }
        return RunReader(
            runID: id, loader: loader, files: SegmentFiles(fileSystem: fileSystem, directory: directory),
            openedFromSnapshot: fromSnapshot)
    }

    private func lock(_ id: RunID, _ directory: String) throws(StoreError) -> any FileHandle {
        let path = directory + "/LOCK"
        do {
            let file = try fileSystem.open(path, writable: true, create: true)
            guard try Store.lockWithPatience(file) else {
                let holder = String(decoding: try file.read(count: 32, at: 0), as: UTF8.self)
                    .trimmingPrefix { _ in false }.split(separator: "\n").first.flatMap { Int32($0) }
                try? file.close()  // never locked: nothing to release
                let who = holder.map { "process \($0)" } ?? "another process"
                throw StoreError(.locked, "run \(id) is being written by \(who) (lock \(path))")
            }
            try file.truncate(to: 0)
            try file.writeAll(Array("\(getpid())\n".utf8), at: 0)
            return file
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "locking run \(id)", underlying: error)
        }
    }

    /// Compacts a run now: merges its blocks and segments into large step-sorted blocks in one new
    /// segment (see `Compaction`). With `force` off, only when the policy finds it worth it. A run
    /// being written is not compacted: the report says it was deferred.
    @discardableResult
    public func compact(_ id: RunID, force: Bool = true) throws(StoreError) -> CompactionReport {
        let directory = directory(of: id)
        guard fileSystem.exists(directory).isDirectory else { throw StoreError(.notFound, "no run \(id) in \(path)") }
        return try Compaction(
            fileSystem: fileSystem, directory: directory, runID: id, options: options, isCancelled: { false }
        )
        .run(force: force)
    }

    /// Waits until background compaction has nothing queued (tests and benchmarks use it).
    public func waitForBackgroundCompaction() {
        compactor?.waitUntilIdle()
    }

    /// What background compaction did so far.
    public var backgroundCompactionReports: [CompactionReport] { compactor?.reports ?? [] }

    /// How a writer queues its live compactions: on the compaction thread, when there is one.
    private func liveScheduler() -> (@Sendable (LiveCompaction) -> Void)? {
        guard let compactor else { return nil }
        return { live in compactor.schedule(live) }
    }

    /// Deletes what a live compaction left when its process died before publishing it: only the
    /// run's writer makes them, and this one has just taken the run's lock.
    private func removeLiveCompactionLeftovers(_ directory: String) throws(StoreError) {
        do {
            for entry in try fileSystem.contentsOfDirectory(directory)
            where entry.hasPrefix(LiveCompaction.temporaryPrefix) && entry.hasSuffix(".tmp") {
                try fileSystem.remove(directory + "/" + entry)
            }
        } catch {
            throw StoreError(.io, "removing an interrupted live compaction's output in \(directory)", underlying: error)
        }
    }

    /// Deletes segments a compaction replaced but did not get to delete (it was interrupted).
    private func removeReplaced(_ loader: RunLogLoader, _ directory: String) throws(StoreError) {
        guard !loader.replaced.isEmpty else { return }
        do {
            for sequence in loader.replaced { try fileSystem.remove(directory + "/" + SegmentName.fileName(sequence)) }
            try fileSystem.syncDirectory(directory)
        } catch {
            throw StoreError(.io, "removing segments replaced by compaction in \(directory)", underlying: error)
        }
        options.logger.notice(
            "removed \(loader.replaced.count) segments of \(directory) replaced by an interrupted compaction")
    }

    /// Tries the lock for up to 250 ms. A process that forks while its writer closes keeps a copy
    /// of the lock's descriptor — and so the lock — until the child execs or exits, a matter of
    /// milliseconds; a real second writer holds it for longer than this.
    static func lockWithPatience(_ file: any FileHandle) throws -> Bool {
        for _ in 0..<50 {
            if try file.tryLockExclusive() { return true }
            usleep(5000)
        }
        return try file.tryLockExclusive()
    }

    private func truncate(_ torn: TornTail) throws(StoreError) {
        do {
            let file = try fileSystem.open(torn.file, writable: true, create: false)
            try file.truncate(to: torn.offset)
            try file.sync()
            try file.close()
        } catch {
            throw StoreError(
                .io, "truncating the torn tail of \(torn.file)",
                location: DiskLocation(file: torn.file, offset: torn.offset),
                underlying: error)
        }
    }
}
