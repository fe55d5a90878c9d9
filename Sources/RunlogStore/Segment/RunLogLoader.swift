#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a run's segments into a `RunIndex`, and reads on from where it stopped as the log grows.
/// Used by readers (`refresh`), by a writer recovering a run, and by `verify`.
struct RunLogLoader {
    let fileSystem: any FileSystem
    let directory: String
    let runID: RunID
    var index = RunIndex()
    /// Problems found so far; each is reported once.
    private(set) var problems: [StoreProblem] = []
    /// The torn tail of the last segment as of the latest read, if any.
    private(set) var tornTail: TornTail?
    /// Whether the last segment ends in damaged bytes (see `SegmentScanner.damagedTail`).
    private(set) var damagedTail = false
    /// The last segment read and the offset just past its last good record.
    var position: (sequence: UInt32, offset: Int64)?
    /// Whether the run's directory held a tombstone at the latest listing.
    private(set) var tombstoned = false
    /// Segments skipped whole because their header is damaged.
    private(set) var skippedSegments: Set<UInt32> = []
    /// The newest compacted segment read; the segments below it are replaced and never read.
    var base: UInt32 = 0
    /// Replaced segments still on disk (a compaction stopped before deleting them).
    private(set) var replaced: [UInt32] = []
    /// Segments read (or skipped, or known not to be compacted) since the base: only a segment
    /// not among them can be a compacted one that this loader has not taken as its base yet.
    var seen: Set<UInt32> = []
    /// Bytes read at a time; at least one whole record's worth. Tests make records and windows tiny.
    let windowSize: Int
    let maxPayloadLength: Int

    init(
        fileSystem: any FileSystem, directory: String, runID: RunID, windowSize: Int = 16 << 20,
        maxPayloadLength: Int = RecordFrame.maxPayloadLength
    ) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.runID = runID
        self.maxPayloadLength = maxPayloadLength
        self.windowSize = max(windowSize, RecordFrame.headerSize + maxPayloadLength + 1)
    }

    func path(of sequence: UInt32) -> String { directory + "/" + SegmentName.fileName(sequence) }

    /// Reads what was appended since the last call. A segment that disappears under it was deleted
    /// by a compaction, which left a compacted segment in its place: the read starts over.
    /// `listing`, the run's directory as just listed, saves listing it again on the first try.
    mutating func refresh(listing: RunDirectoryListing? = nil) throws(StoreError) {
        var attempts = 0
        var listing = listing
        while true {
            do {
                return try refreshOnce(listing: listing)
            } catch  where error.isMissingFile && attempts < 8 {
                attempts += 1
                listing = nil
                self = RunLogLoader(restartingFrom: self)
            }
        }
    }

    private mutating func refreshOnce(listing: RunDirectoryListing?) throws(StoreError) {
        let listed: RunDirectoryListing
        do {
            listed = try listing ?? RunDirectoryListing(of: directory, fileSystem: fileSystem)
        } catch {
            throw StoreError(.io, "listing the segments of run \(runID)", underlying: error)
        }
        let sequences = listed.segments
        // A compacted segment not read yet replaces everything below it: start over from it. A
        // writer's live compaction puts its output below the segment the writer appends to, so a
        // new sequence below the one this loader is reading counts too.
        for sequence in sequences.reversed() where sequence > base && !seen.contains(sequence) {
            guard try isCompacted(sequence) else {
                // Never read below the position: checked once, not on every refresh.
                if let position, sequence < position.sequence { seen.insert(sequence) }
                continue
            }
            if position != nil { self = RunLogLoader(restartingFrom: self) }
            base = sequence
            break
        }
        tombstoned = listed.tombstoned
        replaced = sequences.filter { $0 < base }
        let live = sequences.filter { $0 >= base }
        (tornTail, damagedTail) = (nil, false)
        for (i, sequence) in live.enumerated() {
            if let position, sequence < position.sequence { continue }
            if skippedSegments.contains(sequence) { continue }
            // Seen to end where this loader stopped: reading on would find nothing.
            if let end = listed.end, let position, end == position, sequence == end.sequence { continue }
            try read(sequence, isLast: i == live.count - 1)
        }
    }

    /// A loader for the same run with nothing read yet.
    private init(restartingFrom other: RunLogLoader) {
        self.init(
            fileSystem: other.fileSystem, directory: other.directory, runID: other.runID, windowSize: other.windowSize,
            maxPayloadLength: other.maxPayloadLength)
    }

    /// Whether the segment's header marks it compacted (a damaged header does not).
    private func isCompacted(_ sequence: UInt32) throws(StoreError) -> Bool {
        do {
            let file = try fileSystem.open(path(of: sequence), writable: false, create: false)
            defer { try? file.close() }  // read-only
            let bytes = try file.read(count: SegmentHeader.size, at: 0)
            return bytes.withUnsafeBytes { (try? SegmentHeader.read($0))?.compacted ?? false }
        } catch let error as SystemError where error.isMissingFile {
            return false  // deleted by a compaction since the listing
        } catch {
            throw StoreError(.io, "reading the header of segment \(path(of: sequence))", underlying: error)
        }
    }

    private mutating func read(_ sequence: UInt32, isLast: Bool) throws(StoreError) {
        seen.insert(sequence)
        let path = path(of: sequence)
        var start: Int64 = position?.sequence == sequence ? position!.offset : 0
        var scanner: SegmentScanner
        var refused: [StoreProblem] = []
        do {
            let file = try fileSystem.open(path, writable: false, create: false)
            defer { try? file.close() }  // read-only descriptor: nothing to lose on close
            // What a writer appends after this instant is read by the next refresh.
            let size = try file.size()
            if start == 0 {
                guard size >= Int64(SegmentHeader.size) else {
                    if isLast {
                        // A writer that crashed while creating the segment; an empty file has nothing to cut.
                        if size > 0 {
                            tornTail = TornTail(
                                file: path, offset: 0, byteCount: size, reason: "segment header incomplete")
                        }
                        position = (sequence, 0)
                    } else {
                        skip(sequence, path, "segment of \(size) bytes is shorter than its header")
                    }
                    return
                }
                let headerBytes = try file.read(count: SegmentHeader.size, at: 0)
                guard try checkHeader(headerBytes, sequence: sequence, path: path) else { return }
                start = Int64(SegmentHeader.size)
            }
            scanner = SegmentScanner(file: path, isLast: isLast, start: start, maxPayloadLength: maxPayloadLength)
            var offset: Int64? = start
            while let windowStart = offset {
                let bytes = try file.read(
                    count: Int(min(Int64(windowSize), max(0, size - windowStart))), at: windowStart)
                let atEOF = windowStart + Int64(bytes.count) >= size || bytes.isEmpty
                offset = bytes.withUnsafeBytes { buffer in
                    scanner.scan(buffer, base: windowStart, atEOF: atEOF) { type, recordOffset, payload in
                        if let refusal = index.apply(type, segment: sequence, offset: recordOffset, payload: payload) {
                            refused.append(
                                StoreProblem(
                                    .undecodableRecord, DiskLocation(file: path, offset: recordOffset), refusal))
                        }
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "reading segment \(path)", underlying: error)
        }
        problems += (refused + scanner.problems).sorted { $0.location.offset < $1.location.offset }
        if isLast { (tornTail, damagedTail) = (scanner.tornTail, scanner.damagedTail) }
        position = (sequence, scanner.end)
    }

    /// Whether the header is good; a damaged one skips the segment, a newer version is an error.
    private mutating func checkHeader(_ bytes: [UInt8], sequence: UInt32, path: String) throws(StoreError) -> Bool {
        let header: SegmentHeader
        do throws(SegmentHeader.ReadError) {
            header = try bytes.withUnsafeBytes { raw in
                Result { () throws(SegmentHeader.ReadError) in try SegmentHeader.read(raw) }
            }.get()
        } catch {
            switch error {
            case .newerVersion(let version):
                throw StoreError(
                    .unsupportedVersion,
                    "segment \(path) has format version \(version); this build reads versions up to \(SegmentHeader.currentVersion)"
                )
            case .unknownFlags(let flags):
                throw StoreError(
                    .unsupportedVersion,
                    "segment \(path) has header flags 0x\(String(flags, radix: 16)) this build does not know; a newer Runlog wrote it"
                )
            case .damaged(let reason):
                skip(sequence, path, reason)
                return false
            }
        }
        guard header.runID == runID else {
            skip(sequence, path, "segment belongs to run \(header.runID), not \(runID)")
            return false
        }
        guard header.sequence == sequence else {
            skip(sequence, path, "header says segment \(header.sequence)")
            return false
        }
        return true
    }

    private mutating func skip(_ sequence: UInt32, _ path: String, _ reason: String) {
        skippedSegments.insert(sequence)
        problems.append(
            StoreProblem(.damagedSegment, DiskLocation(file: path, offset: 0), reason + "; segment skipped"))
        position = (sequence, 0)
    }
}
