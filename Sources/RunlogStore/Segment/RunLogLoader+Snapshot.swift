extension RunLogLoader {
    /// A loader for a run, primed from the run's index snapshot when the snapshot checks out against
    /// the segments (see `IndexSnapshot`), then refreshed — which reads whatever was appended after
    /// the snapshot, or everything when there is no usable snapshot.
    static func open(
        fileSystem: any FileSystem, directory: String, runID: RunID, useSnapshot: Bool
    ) throws(StoreError) -> (loader: RunLogLoader, fromSnapshot: Bool) {
        var loader = RunLogLoader(fileSystem: fileSystem, directory: directory, runID: runID)
        var listing: RunDirectoryListing?
        let snapshot =
            useSnapshot
            ? validSnapshot(fileSystem: fileSystem, directory: directory, runID: runID, listing: &listing) : nil
        if let snapshot {
            loader.index = snapshot.index
            loader.base = snapshot.base
            loader.position = snapshot.position
            loader.seen = Set(snapshot.segments.map(\.sequence))
        }
        // The refresh reads from the segments the check listed, as if it had listed them itself
        // that instant: whatever a writer or compaction changed since is read by the next one.
        try loader.refresh(listing: listing)
        return (loader, snapshot != nil)
    }

    /// The run's snapshot if it describes the segments on disk: the same live segments, each of the
    /// recorded size (the last one may have grown since), and the same bytes at the end of what it
    /// covers. Anything else — missing, stale, torn, corrupt, another run's — is nil. `listing` is
    /// what it listed, if it got that far, with the last segment's end when it has not grown.
    static func validSnapshot(
        fileSystem: any FileSystem, directory: String, runID: RunID, listing: inout RunDirectoryListing?
    ) -> IndexSnapshot? {
        guard case .snapshot(let snapshot) = IndexSnapshot.read(directory: directory, fileSystem: fileSystem) else {
            return nil
        }
        do {
            guard snapshot.runID == runID, snapshot.segments.last?.sequence == snapshot.position.sequence else {
                return nil
            }
            let listed = try RunDirectoryListing(of: directory, fileSystem: fileSystem)
            listing = listed
            let onDisk = listed.segments.filter { $0 >= snapshot.base && $0 <= snapshot.position.sequence }
            guard onDisk == snapshot.segments.map(\.sequence) else { return nil }
            // The last segment holds at least what the snapshot covers when its tail reads whole.
            guard snapshot.segments.last?.size == snapshot.position.offset else { return nil }
            for (sequence, recorded) in snapshot.segments.dropLast() {
                guard fileSystem.fileSize(directory + "/" + SegmentName.fileName(sequence)) == recorded else {
                    return nil
                }
            }
            guard
                let tail = try IndexSnapshot.tail(
                    directory: directory, position: snapshot.position, fileSystem: fileSystem),
                tail.checksum == snapshot.tailCRC
            else { return nil }
            if tail.endsThere { listing?.end = snapshot.position }
            return snapshot
        } catch {
            return nil
        }
    }
}
