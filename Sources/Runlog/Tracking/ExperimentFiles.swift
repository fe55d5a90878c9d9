import Foundation
import RunlogStore

/// Experiments on disk:
///
/// ```
/// experiments/<id>/experiment.json     {"experiment_id", "name", "creation_time", "lifecycle_stage", "tags"}
/// experiments/<id>/LOCK                taken while the file is rewritten (tags, lifecycle)
/// experiments/names/<sha256(name)>     "<id>\n<name>": reserves the name for one experiment
/// ```
///
/// Creating an experiment writes its directory and file, then claims the name by `link`ing a
/// fully written file to `names/<sha256(name)>`; `link` fails when the name exists, so of two
/// processes creating "mnist" at once exactly one wins and the other adopts the winner's id.
struct ExperimentFiles: Sendable {
    let fileSystem: any FileSystem
    let root: String

    init(fileSystem: any FileSystem, storePath: String) {
        self.fileSystem = fileSystem
        self.root = storePath + "/experiments"
    }

    private var namesDirectory: String { root + "/names" }
    private func directory(_ id: String) -> String { root + "/" + id }
    private func file(_ id: String) -> String { directory(id) + "/experiment.json" }
    private func nameFile(_ name: String) -> String {
        namesDirectory + "/" + SHA256.hex(of: Array(name.utf8))
    }

    func createOrGet(_ name: String) throws(RunlogError) -> Experiment {
        try create(name).experiment
    }

    /// The experiment named `name`, created (with `id`, or a random one) when there is none;
    /// `created` says which. An `id` already taken by another name is an error.
    func create(_ name: String, id wanted: String? = nil, tags: [String: String] = [:]) throws(RunlogError)
        -> (experiment: Experiment, created: Bool)
    {
        try Validation.name(name, "experiment", limit: Validation.maxExperimentNameLength)
        if let wanted { try Experiment.validateID(wanted) }
        if let existing = try lookUp(name) { return (existing, false) }
        if let wanted, let taken = try load(wanted) {
            throw RunlogError(.alreadyExists, "experiment id \(wanted) is taken by \"\(taken.name)\"")
        }
        return try io("creating experiment \"\(name)\"") {
            try fileSystem.createDirectory(root)
            try fileSystem.createDirectory(namesDirectory)
            let id = wanted ?? randomID()
            try fileSystem.createDirectory(directory(id))
            let now = currentTimeMilliseconds()
            var experiment = Experiment(id: id, name: name, creationTime: now, lifecycle: .active, tags: tags)
            experiment.lastUpdateTime = now
            try write(experiment)
            if try claim(name, for: id) { return (experiment, true) }
            // Another process claimed the name first: theirs is the experiment.
            try fileSystem.remove(file(experiment.id))
            guard let winner = try lookUp(name) else {
                throw RunlogError(.storage, "experiment \"\(name)\" was claimed by another process but cannot be read")
            }
            return (winner, false)
        }
    }

    /// Claims `name` for experiment `id` by `link`ing a fully written file to its name file; false
    /// when another experiment holds the name (it won a race).
    private func claim(_ name: String, for id: String) throws -> Bool {
        let claim = nameFile(name) + ".claim-\(id)"
        try writeFile(claim, Array("\(id)\n\(name)".utf8))
        defer { try? fileSystem.remove(claim) }  // its content lives on under the name, or lost the race
        guard try fileSystem.link(claim, to: nameFile(name)) else { return false }
        try fileSystem.syncDirectory(namesDirectory)
        return true
    }

    /// The experiment named `name`, if there is one.
    func lookUp(_ name: String) throws(RunlogError) -> Experiment? {
        try io("looking up experiment \"\(name)\"") {
            let path = nameFile(name)
            guard fileSystem.exists(path).exists else { return nil }
            let text = String(decoding: try readFile(path), as: UTF8.self)
            let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1] == name, (try? Experiment.validateID(String(parts[0]))) != nil else {
                throw RunlogError(.storage, "\(path) does not name experiment \"\(name)\"")
            }
            return try load(String(parts[0]))
        }
    }

    func load(_ id: String) throws(RunlogError) -> Experiment? {
        try Experiment.validateID(id)
        return try io("reading experiment \(id)") {
            // An experiment that lost a creation race has its file removed, maybe while we look:
            // gone before or during the read, it is not an experiment.
            let bytes: [UInt8]
            do {
                bytes = try readFile(file(id))
            } catch let error as SystemError where error.errno == ENOENT {
                return nil
            }
            do {
                return try JSONDecoder().decode(Experiment.self, from: Data(bytes))
            } catch {
                throw RunlogError(.storage, "\(file(id)) is not a valid experiment file", underlying: error)
            }
        }
    }

    /// Every experiment whose name still points at it (an experiment that lost a creation race,
    /// or whose creator crashed before claiming its name, is not one).
    func all() throws(RunlogError) -> [Experiment] { try scan().experiments }

    /// The experiments, and the experiment files that cannot be read (each "path: why"). A damaged
    /// file costs its own experiment, never the listing: its runs keep their experiment id.
    func scan() throws(RunlogError) -> (experiments: [Experiment], damaged: [String]) {
        try io("listing experiments") {
            guard fileSystem.exists(root).isDirectory else { return ([], []) }
            var experiments: [Experiment] = []
            var damaged: [String] = []
            for entry in try fileSystem.contentsOfDirectory(root) where entry != "names" {
                guard (try? Experiment.validateID(entry)) != nil else { continue }
                switch listed(entry) {
                case .success(let experiment?): experiments.append(experiment)
                case .success(nil): continue
                case .failure(let error) where error.code == .storage:
                    damaged.append(error.underlying.map { "\(error.message): \($0)" } ?? error.message)
                case .failure(let error): throw error
                }
            }
            return (experiments.sorted { ($0.creationTime, $0.id) < ($1.creationTime, $1.id) }, damaged)
        }
    }

    /// The experiment in directory `id` if its name still points at it.
    private func listed(_ id: String) -> Result<Experiment?, RunlogError> {
        Result { () throws(RunlogError) -> Experiment? in
            guard let experiment = try load(id), try lookUp(experiment.name)?.id == experiment.id else { return nil }
            return experiment
        }
    }

    /// Rewrites an experiment's file under its lock, so concurrent updates are not lost.
    func update(_ id: String, _ change: (inout Experiment) throws(RunlogError) -> Void) throws(RunlogError)
        -> Experiment
    {
        guard var experiment = try load(id) else { throw RunlogError(.notFound, "no experiment \(id)") }
        return try io("updating experiment \(id)") {
            let lock = try fileSystem.open(directory(id) + "/LOCK", writable: true, create: true)
            defer { try? lock.close() }  // closing releases the lock; nothing was written through it
            while !(try lock.tryLockExclusive()) { usleep(1000) }
            experiment = try load(id) ?? experiment
            try change(&experiment)
            experiment.lastUpdateTime = currentTimeMilliseconds()
            try write(experiment)
            return experiment
        }
    }

    /// Gives an experiment a new name: the new name is claimed first (failing when another
    /// experiment has it), then the file rewritten, then the old name freed.
    func rename(_ id: String, to name: String) throws(RunlogError) -> Experiment {
        try Validation.name(name, "experiment", limit: Validation.maxExperimentNameLength)
        guard let current = try load(id) else { throw RunlogError(.notFound, "no experiment \(id)") }
        if current.name == name { return current }
        if let other = try lookUp(name) {
            throw RunlogError(.alreadyExists, "experiment \"\(name)\" already exists (id \(other.id))")
        }
        try io("renaming experiment \(id)") {
            guard try claim(name, for: id) else {
                throw RunlogError(.alreadyExists, "experiment \"\(name)\" already exists")
            }
        }
        let renamed = try update(id) { $0.name = name }
        try io("freeing the name \"\(current.name)\"") {
            if try lookUp(current.name)?.id == id {
                try fileSystem.remove(nameFile(current.name))
                try fileSystem.syncDirectory(namesDirectory)
            }
        }
        return renamed
    }

    /// Removes an experiment for good, freeing its name.
    func remove(_ id: String) throws(RunlogError) {
        guard let experiment = try load(id) else { return }
        try io("removing experiment \(id)") {
            if try lookUp(experiment.name)?.id == id { try fileSystem.remove(nameFile(experiment.name)) }
            for entry in try fileSystem.contentsOfDirectory(directory(id)) {
                try fileSystem.remove(directory(id) + "/" + entry)
            }
            try fileSystem.removeDirectory(directory(id))
            try fileSystem.syncDirectory(root)
            try fileSystem.syncDirectory(namesDirectory)
        }
    }

    private func write(_ experiment: Experiment) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let path = file(experiment.id)
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try writeFile(temporary, Array(try encoder.encode(experiment)))
        try fileSystem.rename(temporary, to: path)
        try fileSystem.syncDirectory(directory(experiment.id))
    }

    private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let file = try fileSystem.open(path, writable: true, create: true)
        do {
            try file.truncate(to: 0)
            try bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    done += try file.write(UnsafeRawBufferPointer(rebasing: raw[done...]), at: Int64(done))
                }
            }
            try file.sync()
        } catch {
            try? file.close()  // the write already failed; that error is the one to report
            throw error
        }
        try file.close()
    }

    /// A small metadata file, read whole; over 1 MiB is not one of ours.
    private func readFile(_ path: String) throws -> [UInt8] {
        let file = try fileSystem.open(path, writable: false, create: false)
        defer { try? file.close() }  // read-only
        let size = try file.size()
        guard size <= 1 << 20 else { throw RunlogError(.storage, "\(path) is \(size) bytes, too large for metadata") }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return Array(bytes[..<got])
    }

    private func randomID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(to: 16)
    }

    private func io<T>(_ doing: @autoclosure () -> String, _ body: () throws -> T) throws(RunlogError) -> T {
        do {
            return try body()
        } catch let error as RunlogError {
            throw error
        } catch {
            throw RunlogError(.storage, doing(), underlying: error)
        }
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
