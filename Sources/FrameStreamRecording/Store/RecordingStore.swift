public import Foundation
public import FrameStream
import Glibc
public import Logging
import Synchronization

/// A folder of recordings: each camera's segment files under `FOLDER/CAMERA/YYYY-MM-DD/`, and the catalog that lists
/// them (`FOLDER/catalog.sqlite`).
///
/// Opening a store repairs it: segments left open by a crash or a power loss are recovered (a torn or truncated
/// tail is cut at the last frame whose checksum holds, complete frames the index missed are added back), rows whose
/// files are gone are dropped, files the catalog does not list are added, and a catalog that cannot be opened is
/// rebuilt from the files. Any number of ``FrameRecorder``s write into one store, one per camera; readers get a
/// camera's frames by time through ``history(camera:)``.
///
/// Retention (``enforceRetention(now:)``) deletes the oldest segments first when a camera passes its
/// ``RetentionLimits``, the store passes ``Configuration/maxTotalBytes``, or the file system's free space falls
/// under ``Configuration/minFreeBytes`` or ``Configuration/minFreeFraction``; it never deletes a segment being
/// written or read. Recorders run it when a segment closes and every 10 s.
public final class RecordingStore: Sendable {
    /// Limits for the whole store.
    public struct Configuration: Sendable, Hashable {
        /// The most bytes all cameras' recordings may take; `nil` for no limit.
        public var maxTotalBytes: Int64?
        /// The least free space to leave on the file system, in bytes; `nil` for none.
        public var minFreeBytes: Int64?
        /// The least free space to leave, as a fraction of the file system's size (0.05 for 5 %); `nil` for none.
        public var minFreeFraction: Double?

        /// Creates a configuration: no limits by default.
        public init(maxTotalBytes: Int64? = nil, minFreeBytes: Int64? = nil, minFreeFraction: Double? = nil) {
            self.maxTotalBytes = maxTotalBytes
            self.minFreeBytes = minFreeBytes
            self.minFreeFraction = minFreeFraction
        }
    }

    /// What the store knows of one segment.
    struct Entry: Sendable {
        var row: CatalogSegment
        /// Set while a recorder writes it.
        var open: OpenSegment?
    }

    struct State: Sendable {
        /// Each camera's segments, oldest first.
        var segments: [String: [Entry]] = [:]
        /// Segments with readers, by row id: not deleted until they are released.
        var readers: [Int64: Int] = [:]
        var limits: [String: RetentionLimits] = [:]
        /// Each recorded camera's gap: frames further apart are in different spans.
        var gaps: [String: Duration] = [:]
        /// Each recorded camera's metrics, where retention counts what it deletes.
        var metrics: [String: CameraMetrics] = [:]
        var nextSequence = 0
    }

    /// The folder.
    public let folder: String
    /// The store's limits.
    public let configuration: Configuration
    let catalog: RecordingCatalog
    let logger: Logger
    private let freeSpace: @Sendable (String) -> FreeSpace?
    let state = Mutex(State())
    private let retention = Mutex(())

    /// Opens (and repairs) the store in `folder`, creating the folder if needed.
    /// - Parameters:
    ///   - folder: where the recordings are.
    ///   - configuration: the store's limits.
    ///   - freeSpace: reads the file system's free space; tests simulate a full disk with it.
    ///   - logger: where repairs and deletions are logged.
    /// - Throws: ``RecordingError`` when the folder cannot be made or the catalog can be neither opened nor made.
    public init(
        folder: String,
        configuration: Configuration = Configuration(),
        freeSpace: @escaping @Sendable (String) -> FreeSpace? = { FreeSpace.of($0) },
        logger: Logger
    ) throws(RecordingError) {
        self.folder = folder.hasSuffix("/") && folder.count > 1 ? String(folder.dropLast()) : folder
        self.configuration = configuration
        self.freeSpace = freeSpace
        self.logger = logger
        try Self.makeFolder(self.folder)
        let catalogPath = "\(self.folder)/catalog.sqlite"
        var catalog: RecordingCatalog
        do {
            catalog = try RecordingCatalog(path: catalogPath)
        } catch {
            // The files are the truth: put the broken catalog aside and rebuild it.
            let aside = "\(catalogPath).broken-\(Int(Date().timeIntervalSince1970))"
            logger.error(
                "recordings catalog unreadable, rebuilding it from the segment files",
                metadata: ["catalog": "\(catalogPath)", "error": "\(error)", "movedTo": "\(aside)"]
            )
            for suffix in ["", "-wal", "-shm"] { rename(catalogPath + suffix, aside + suffix) }
            do {
                catalog = try RecordingCatalog(path: catalogPath)
            } catch {
                throw .cannotOpen(path: catalogPath, errno: EIO)
            }
        }
        self.catalog = catalog
        repair()
    }

    // MARK: Repair at start

    /// Brings the catalog and the files into agreement, recovering open segments.
    private func repair() {
        let rows = (try? catalog.allSegments()) ?? []
        var byPath = Dictionary(rows.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var kept: [CatalogSegment] = []
        var changed = false
        var maxSequence = 0
        for path in segmentPathsOnDisk() {
            maxSequence = max(maxSequence, SegmentName.sequence(fromFileName: path) ?? 0)
            let row = byPath.removeValue(forKey: path)
            if row?.state == .closed {
                kept.append(row!)
                continue
            }
            if row?.state == .deleting {
                removeFiles(of: path)
                changed = true
                continue
            }
            // Open at the crash, or not in the catalog: check the files and close the segment.
            guard let recovered = recover(path) else {
                changed = true
                continue
            }
            changed = true
            kept.append(recovered)
        }
        if !byPath.isEmpty {
            logger.warning(
                "recordings catalog listed segments whose files are gone",
                metadata: ["count": "\(byPath.count)"]
            )
            changed = true
        }
        if changed {
            do {
                kept = try catalog.replaceAll(
                    with: kept.sorted { ($0.startMicros, $0.path) < ($1.startMicros, $1.path) }
                )
            } catch {
                logger.error("recordings catalog could not be repaired", metadata: ["error": "\(error)"])
            }
        }
        state.withLock { state in
            state.nextSequence = maxSequence + 1
            for row in kept.sorted(by: { ($0.startMicros, $0.path) < ($1.startMicros, $1.path) }) {
                state.segments[row.camera, default: []].append(Entry(row: row))
            }
        }
    }

    /// Recovers one segment's files; `nil` (and the files removed) when nothing in them is usable.
    private func recover(_ path: String) -> CatalogSegment? {
        let data = "\(folder)/\(path).mjpeg"
        let index = "\(folder)/\(path).idx"
        do {
            let report = try SegmentRecovery.recover(dataPath: data, indexPath: index)
            guard let first = report.records.first, let last = report.records.last else {
                removeFiles(of: path)
                return nil
            }
            if report.cutRecords > 0 || report.recoveredFrames > 0 || report.truncatedBytes > 0 {
                logger.warning(
                    "recovered a segment left open",
                    metadata: [
                        "segment": "\(path)", "frames": "\(report.records.count)",
                        "recoveredFrames": "\(report.recoveredFrames)", "cutIndexRecords": "\(report.cutRecords)",
                        "truncatedBytes": "\(report.truncatedBytes)",
                    ]
                )
            }
            return CatalogSegment(
                // The folder holds the whole name; the index header only its first 40 bytes.
                camera: Self.camera(of: path),
                path: path,
                startMicros: first.captureMicros,
                endMicros: last.captureMicros,
                frames: report.records.count,
                bytes: Int64(last.end)
                    + Int64(SegmentIndexHeader.size + report.records.count * SegmentIndexRecord.size),
                state: .closed
            )
        } catch {
            logger.error(
                "segment could not be recovered; left as it is",
                metadata: ["segment": "\(path)", "error": "\(error)"]
            )
            return nil
        }
    }

    /// Every segment's path without extension (`CAMERA/DAY/NAME`), from the files that are there.
    private func segmentPathsOnDisk() -> [String] {
        let files = FileManager.default
        var paths: [String] = []
        for camera in (try? files.contentsOfDirectory(atPath: folder)) ?? [] {
            for day in (try? files.contentsOfDirectory(atPath: "\(folder)/\(camera)")) ?? [] {
                for name in (try? files.contentsOfDirectory(atPath: "\(folder)/\(camera)/\(day)")) ?? []
                where name.hasSuffix(".mjpeg") {
                    paths.append("\(camera)/\(day)/\(name.dropLast(".mjpeg".count))")
                }
            }
        }
        return paths.sorted()
    }

    private static func camera(of path: String) -> String {
        String(path.split(separator: "/").first ?? "")
    }

    private func removeFiles(of path: String) {
        unlink("\(folder)/\(path).mjpeg")
        unlink("\(folder)/\(path).idx")
        let parent = "\(folder)/\(path)".split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        try? SegmentWriter.syncFolder(parent)
    }

    /// Creates a folder and its parents with `mkdir(2)`, so that the error is the system call's own (`ENOTDIR`
    /// when a file is in the way, `EACCES`, `ENOSPC`…).
    static func makeFolder(_ path: String) throws(RecordingError) {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/\(component)"
            guard mkdir(partial, 0o755) == 0 || errno == EEXIST else {
                throw .cannotCreateFolder(path: path, errno: errno)
            }
        }
        guard stat(path, &info) == 0 else { throw .cannotCreateFolder(path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .cannotCreateFolder(path: path, errno: ENOTDIR) }
    }

    // MARK: Writing (for recorders)

    /// Sets a camera's retention limits and the gap at which its recorder begins a new span.
    func setLimits(_ limits: RetentionLimits, gap: Duration, camera: String, metrics: CameraMetrics? = nil) {
        state.withLock { state in
            state.limits[camera] = limits
            state.gaps[camera] = gap
            state.metrics[camera] = metrics
        }
    }

    /// The file system's free space where the recordings are, if it can be read.
    func currentFreeSpace() -> FreeSpace? {
        freeSpace(folder)
    }

    /// Starts a new segment for a camera whose first frame was captured at `startMicros`.
    func openSegment(camera: String, startMicros: Int64) throws(RecordingError) -> (SegmentWriter, OpenSegment) {
        let sequence = state.withLock { state in
            defer { state.nextSequence += 1 }
            return state.nextSequence
        }
        let day = "\(camera)/\(SegmentName.dayFolder(startMicros: startMicros))"
        let dayPath = "\(folder)/\(day)"
        try Self.makeFolder(dayPath)
        let base = SegmentName.baseName(startMicros: startMicros, sequence: sequence)
        let writer = try SegmentWriter(folder: dayPath, baseName: base, camera: camera, startMicros: startMicros)
        let open = OpenSegment(
            dataPath: writer.dataPath,
            indexPath: writer.indexPath,
            header: SegmentIndexHeader(camera: camera, startMicros: startMicros)
        )
        var row = CatalogSegment(
            camera: camera,
            path: "\(day)/\(base)",
            startMicros: startMicros,
            endMicros: startMicros,
            frames: 0,
            bytes: Int64(SegmentIndexHeader.size),
            state: .open
        )
        do {
            row = try catalog.insert(row)
        } catch {
            // The files are the truth; the next start adds the row.
            logger.error("recordings catalog not updated", metadata: ["error": "\(error)"])
            row.id = -Int64(sequence) - 1
        }
        state.withLock { state in
            // In time order, which lookups by time rely on: after the clock steps back, a new segment starts before
            // the last one.
            var entries = state.segments[camera] ?? []
            let position =
                entries.lastIndex { ($0.row.startMicros, $0.row.path) <= (row.startMicros, row.path) }.map { $0 + 1 }
                ?? 0
            entries.insert(Entry(row: row, open: open), at: position)
            state.segments[camera] = entries
        }
        return (writer, open)
    }

    /// Saves a segment's progress (its end, frames and size) in the catalog, after a sync; and, with `closed`, that
    /// it is complete.
    func recordProgress(of open: OpenSegment, writer: SegmentWriter, closed: Bool) {
        let row = state.withLock { state -> CatalogSegment? in
            guard let camera = state.segments.first(where: { $0.value.contains { $0.open === open } })?.key,
                let index = state.segments[camera]?.lastIndex(where: { $0.open === open })
            else { return nil }
            var entry = state.segments[camera]![index]
            entry.row.endMicros = writer.lastMicros ?? entry.row.startMicros
            entry.row.frames = writer.frames
            entry.row.bytes =
                Int64(writer.dataBytes) + Int64(SegmentIndexHeader.size + writer.frames * SegmentIndexRecord.size)
            if closed {
                entry.row.state = .closed
                entry.open = nil
            }
            state.segments[camera]![index] = entry
            return entry.row
        }
        guard let row, (row.id ?? -1) >= 0 else { return }
        do {
            try catalog.update(row)
        } catch {
            logger.error("recordings catalog not updated", metadata: ["error": "\(error)"])
        }
    }

    /// Drops a segment that holds no frame (one whose first write failed).
    func discard(_ open: OpenSegment) {
        let row = state.withLock { state -> CatalogSegment? in
            for (camera, entries) in state.segments {
                if let index = entries.lastIndex(where: { $0.open === open }) {
                    return state.segments[camera]!.remove(at: index).row
                }
            }
            return nil
        }
        unlink(open.dataPath)
        unlink(open.indexPath)
        if let id = row?.id, id >= 0 { try? catalog.delete(id: id) }
    }

    // MARK: Reading

    /// A camera's recording by time, for one reader (a playback, an export); the segments it is reading are kept
    /// until it is gone.
    public func history(camera: String) -> RecordingHistory {
        RecordingHistory(store: self, camera: camera)
    }

    /// The stretches without gaps of a camera's recording that overlap `range`, from the catalog; segments at most
    /// `joiningGap` apart count as one stretch. By default that is the ``FrameRecorder/Configuration/gap`` of the
    /// camera's recorder (2 s without one). A span's `RecordedSpan.bytes` are those of its JPEGs, without the
    /// index.
    public func spans(
        camera: String,
        overlapping range: ClosedRange<Int64>,
        joiningGap: Duration? = nil
    ) -> [RecordedSpan] {
        let joiningGap = joiningGap ?? state.withLock { $0.gaps[camera] } ?? .seconds(2)
        let rows: [CatalogSegment]
        do {
            rows = try catalog.segments(camera: camera, overlapping: range)
        } catch {
            logger.error("recordings catalog unreadable", metadata: ["error": "\(error)"])
            return []
        }
        var spans: [RecordedSpan] = []
        for row in rows where row.frames > 0 {
            let jpegBytes = row.bytes - Int64(SegmentIndexHeader.size + row.frames * SegmentIndexRecord.size)
            if var last = spans.last, row.startMicros - last.endMicros <= joiningGap.microseconds {
                last.endMicros = max(last.endMicros, row.endMicros)
                last.frames += row.frames
                last.bytes += jpegBytes
                spans[spans.count - 1] = last
            } else {
                spans.append(
                    RecordedSpan(
                        startMicros: row.startMicros,
                        endMicros: row.endMicros,
                        frames: row.frames,
                        bytes: jpegBytes
                    )
                )
            }
        }
        return spans
    }

    /// A camera's recorded bytes and segment count now.
    public func usage(camera: String) -> (segments: Int, bytes: Int64) {
        state.withLock { state in
            let entries = state.segments[camera] ?? []
            return (entries.count, entries.reduce(0) { $0 + $1.row.bytes })
        }
    }

    /// Marks a segment as read (`delta` 1) or no longer read (-1).
    func markReading(_ id: Int64, _ delta: Int) {
        state.withLock { state in
            let count = (state.readers[id] ?? 0) + delta
            state.readers[id] = count > 0 ? count : nil
        }
    }

    // MARK: Retention

    /// Deletes the oldest segments until every limit holds: each camera's age and bytes, the store's total, the free
    /// space. Skips segments being written or read.
    /// - Returns: how many segments it deleted.
    @discardableResult
    public func enforceRetention(now: Date = Date()) -> Int {
        retention.withLock { _ in
            let nowMicros = now.microsSince1970
            var deleted = 0
            let free = freeSpace(folder)
            let minFree = max(
                configuration.minFreeBytes ?? 0,
                Int64((configuration.minFreeFraction ?? 0) * Double(free?.totalBytes ?? 0))
            )
            var freed: Int64 = 0
            while let (victim, reason) = nextVictim(now: nowMicros, minFree: minFree, free: free, freed: freed) {
                delete(victim)
                freed += victim.row.bytes
                deleted += 1
                logger.info(
                    "recording deleted",
                    metadata: ["segment": "\(victim.row.path)", "bytes": "\(victim.row.bytes)", "reason": "\(reason)"]
                )
            }
            return deleted
        }
    }

    /// The oldest deletable segment that a limit asks to delete, and which limit.
    private func nextVictim(now: Int64, minFree: Int64, free: FreeSpace?, freed: Int64) -> (Entry, String)? {
        state.withLock { state -> (Entry, String)? in
            func deletable(_ entry: Entry) -> Bool {
                entry.open == nil && state.readers[entry.row.id ?? -1] == nil
            }
            for (camera, entries) in state.segments.sorted(by: { $0.key < $1.key }) {
                let limits = state.limits[camera] ?? RetentionLimits()
                if let maxAge = limits.maxAge, let oldest = entries.first(where: deletable),
                    oldest.row.endMicros < now - maxAge.microseconds
                {
                    return (oldest, "older than \(maxAge.secondsDescription)")
                }
                if let maxBytes = limits.maxBytes, entries.reduce(0, { $0 + $1.row.bytes }) > maxBytes,
                    let oldest = entries.first(where: deletable)
                {
                    return (oldest, "camera over \(maxBytes) bytes")
                }
            }
            let oldest = state.segments.values.compactMap { $0.first(where: deletable) }
                .min { $0.row.startMicros < $1.row.startMicros }
            guard let oldest else { return nil }
            if let maxTotal = configuration.maxTotalBytes,
                state.segments.values.joined().reduce(0, { $0 + $1.row.bytes }) > maxTotal
            {
                return (oldest, "store over \(maxTotal) bytes")
            }
            if minFree > 0, let free, free.availableBytes + freed < minFree {
                return (oldest, "free space under \(minFree) bytes")
            }
            return nil
        }
    }

    /// Deletes a segment: marked `deleting` in the catalog, its files removed, then its row.
    private func delete(_ entry: Entry) {
        let metrics = state.withLock { state in
            state.segments[entry.row.camera]?.removeAll { $0.row.id == entry.row.id && $0.row.path == entry.row.path }
            return state.metrics[entry.row.camera]
        }
        metrics?.countDeletedSegments(1)
        var row = entry.row
        row.state = .deleting
        try? catalog.update(row)
        removeFiles(of: row.path)
        if let id = row.id { try? catalog.delete(id: id) }
    }
}
