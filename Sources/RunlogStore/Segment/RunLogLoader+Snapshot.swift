extension RunLogLoader {
    /// A loader for a run, primed from the run's index snapshot when the snapshot checks out against
    /// the segments (see `IndexSnapshot`), then refreshed — which reads whatever was appended after
    /// the snapshot, or everything when there is no usable snapshot.
    static func open(
        fileSystem: any FileSystem, directory: String, runID: RunID, useSnapshot: Bool
    ) throws(StoreError) -> (loader: RunLogLoader, fromSnapshot: Bool) {
        var loader = RunLogLoader(fileSystem: fileSystem, directory: directory, runID: runID)
        let snapshot = useSnapshot ? validSnapshot(fileSystem: fileSystem, directory: directory, runID: runID) : nil
        if let snapshot {
            loader.index = snapshot.index
            loader.base = snapshot.base
            loader.position = snapshot.position
            loader.seen = Set(snapshot.segments.map(\.sequence))
        }
        try loader.refresh()
        return (loader, snapshot != nil)
    }

    /// The run's snapshot if it describes the segments on disk: the same live segments, each of the
    /// recorded size (the last one may have grown since), and the same bytes at the end of what it
    /// covers. Anything else — missing, stale, torn, corrupt, another run's — is nil.
    static func validSnapshot(fileSystem: any FileSystem, directory: String, runID: RunID) -> IndexSnapshot? {
        guard case .snapshot(let snapshot) = IndexSnapshot.read(directory: directory, fileSystem: fileSystem) else {
            return nil
        }
        do {
            guard snapshot.runID == runID, snapshot.segments.last?.sequence == snapshot.position.sequence else {
                return nil
            }
            let onDisk = try SegmentName.list(in: directory, fileSystem: fileSystem)
                .filter { $0 >= snapshot.base && $0 <= snapshot.position.sequence }
            guard onDisk == snapshot.segments.map(\.sequence) else { return nil }
            for (sequence, recorded) in snapshot.segments {
                guard let actual = fileSystem.fileSize(directory + "/" + SegmentName.fileName(sequence)),
                    sequence == snapshot.position.sequence ? actual >= recorded : actual == recorded
                else { return nil }
            }
            let tail = try IndexSnapshot.tailChecksum(
                directory: directory, position: snapshot.position, fileSystem: fileSystem)
            return tail == snapshot.tailCRC ? snapshot : nil
        } catch {
            return nil
        }
    }
}
