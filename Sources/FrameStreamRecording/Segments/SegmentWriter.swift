#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one segment: appends frames to its data file (`BASE.mjpeg`, the JPEGs as captured, back to back) and their
/// records to its index file (`BASE.idx`).
///
/// Each frame is handed to the kernel with `pwrite(2)` as it comes, data first and its index record second, so that
/// a record never points at bytes the kernel was not given: when the process crashes, every frame that
/// ``append(_:captureMicros:flags:)`` returned for is on disk, and ``SegmentRecovery`` finds the rest. Only a power
/// failure loses frames, those since the last ``sync()``: call it every second or so, and ``close()`` at the end.
///
/// A failed append leaves the segment as it was before it: both files are cut back, and the next append goes on from
/// there.
///
/// ```swift
/// let writer = try SegmentWriter(folder: day, baseName: name, camera: "door", startMicros: now)
/// try writer.append(jpeg, captureMicros: now)
/// try writer.sync()
/// try writer.close()
/// ```
///
/// Used by one thread (the recorder's); not `Sendable`.
package final class SegmentWriter {
    /// The data file's path.
    package let dataPath: String
    /// The index file's path.
    package let indexPath: String
    /// The header written at the start of the index.
    package let header: SegmentIndexHeader
    /// The frames appended so far.
    package private(set) var frames = 0
    /// The data file's size: the bytes of all frames appended so far.
    package private(set) var dataBytes: UInt64 = 0
    /// The capture time of the first frame appended, if any.
    package private(set) var firstMicros: Int64?
    /// The capture time of the last frame appended, if any.
    package private(set) var lastMicros: Int64?
    /// The index records of the frames appended so far, in order: what a reader of the open segment needs.
    package private(set) var records: [SegmentIndexRecord] = []
    /// Whether ``close()`` has been called.
    package private(set) var isClosed = false

    private let folder: String
    private let data: SegmentFile
    private let index: SegmentFile
    private let write: SegmentFile.WriteFunction

    /// Creates a segment's two files, writes the index header and makes the new names durable.
    /// - Parameters:
    ///   - folder: the folder for the files, which must exist.
    ///   - baseName: the files' name without extension, `START_US-SEQ`
    ///     (``SegmentName/baseName(startMicros:sequence:)``).
    ///   - camera: the camera's name, kept in the index header (its first 40 bytes).
    ///   - startMicros: the capture time of the segment's first frame.
    /// - Throws: ``RecordingError/cannotOpen(path:errno:)`` (with `EEXIST` if a file of that name exists),
    ///   ``RecordingError/writeFailed(path:errno:)`` or ``RecordingError/syncFailed(path:errno:)``; no file is left
    ///   behind then.
    package convenience init(
        folder: String,
        baseName: String,
        camera: String,
        startMicros: Int64
    ) throws(RecordingError) {
        try self.init(
            folder: folder,
            baseName: baseName,
            camera: camera,
            startMicros: startMicros,
            write: SegmentFile.systemWrite
        )
    }

    /// Like ``init(folder:baseName:camera:startMicros:)``, but writes with `write` instead of `pwrite(2)`: for tests
    /// that make writes fail.
    init(
        folder: String,
        baseName: String,
        camera: String,
        startMicros: Int64,
        write: @escaping SegmentFile.WriteFunction
    ) throws(RecordingError) {
        self.folder = folder
        dataPath = "\(folder)/\(baseName).\(SegmentName.dataExtension)"
        indexPath = "\(folder)/\(baseName).\(SegmentName.indexExtension)"
        header = SegmentIndexHeader(camera: camera, startMicros: startMicros)
        self.write = write
        let flags = O_WRONLY | O_CREAT | O_EXCL
        data = try SegmentFile(path: dataPath, flags: flags)
        do {
            index = try SegmentFile(path: indexPath, flags: flags)
        } catch {
            data.close()
            unlink(dataPath)
            throw error
        }
        do {
            try index.write(header.encoded(), at: 0, with: write)
            // One sync a segment (a minute) makes the header durable, so that recovery rarely needs the file name.
            try index.sync(dataOnly: true)
            try Self.syncFolder(folder)
        } catch {
            data.close()
            index.close()
            unlink(dataPath)
            unlink(indexPath)
            isClosed = true
            throw error
        }
    }

    deinit {
        if !isClosed {
            data.close()
            index.close()
        }
    }

    /// Appends a frame: its JPEG to the data file, then its record to the index.
    /// - Parameters:
    ///   - jpeg: the JPEG's bytes as captured.
    ///   - captureMicros: when it was captured, in microseconds since 1970; not before the last frame's.
    ///   - flags: what else is known about it (``SegmentIndexRecord/Flags/discontinuity`` after a gap).
    /// - Returns: the frame's index record.
    /// - Throws: ``RecordingError/writeFailed(path:errno:)`` (the segment is then as it was before: append again or
    ///   close it), ``RecordingError/segmentFull(path:bytes:frameBytes:)`` past 4 GiB, or
    ///   ``RecordingError/timeWentBackwards(path:lastMicros:captureMicros:)``.
    @discardableResult
    package func append(
        _ jpeg: [UInt8],
        captureMicros: Int64,
        flags: SegmentIndexRecord.Flags = []
    ) throws(RecordingError) -> SegmentIndexRecord {
        guard !isClosed else { throw .writeFailed(path: dataPath, errno: EBADF) }
        guard dataBytes + UInt64(jpeg.count) <= UInt64(UInt32.max) else {
            throw .segmentFull(path: dataPath, bytes: dataBytes, frameBytes: jpeg.count)
        }
        if let lastMicros, captureMicros < lastMicros {
            throw .timeWentBackwards(path: dataPath, lastMicros: lastMicros, captureMicros: captureMicros)
        }
        let record = jpeg.withUnsafeBytes { bytes in
            SegmentIndexRecord(
                captureMicros: captureMicros,
                offset: UInt32(dataBytes),
                length: UInt32(bytes.count),
                checksum: CRC32C.checksum(bytes),
                flags: flags
            )
        }
        let indexBytes = UInt64(SegmentIndexHeader.size + records.count * SegmentIndexRecord.size)
        do {
            try data.write(jpeg, at: dataBytes, with: write)
        } catch {
            // The next append writes at the same offset anyway; cutting keeps a crash now from finding a torn frame.
            try? data.truncate(to: dataBytes)
            throw error
        }
        do {
            try index.write(record.encoded(), at: indexBytes, with: write)
        } catch {
            try? index.truncate(to: indexBytes)
            try? data.truncate(to: dataBytes)
            throw error
        }
        frames += 1
        dataBytes = record.end
        firstMicros = firstMicros ?? captureMicros
        lastMicros = captureMicros
        records.append(record)
        return record
    }

    /// Flushes both files' data to the disk (`fdatasync`), the data file first: frames appended before survive a
    /// power failure.
    package func sync() throws(RecordingError) {
        guard !isClosed else { return }
        try data.sync(dataOnly: true)
        try index.sync(dataOnly: true)
    }

    /// Flushes both files (`fsync`), closes them and flushes the folder. Calling it again does nothing.
    ///
    /// The files are closed even if a flush fails; the error is thrown after.
    package func close() throws(RecordingError) {
        guard !isClosed else { return }
        isClosed = true
        var failure: RecordingError?
        do {
            try data.sync(dataOnly: false)
            try index.sync(dataOnly: false)
        } catch {
            failure = error
        }
        data.close()
        index.close()
        if let failure { throw failure }
        try Self.syncFolder(folder)
    }

    /// Flushes a folder's entries (`fsync` on the folder), so that files created, renamed or removed in it stay so
    /// after a power failure.
    /// - Throws: ``RecordingError/cannotOpen(path:errno:)`` or ``RecordingError/syncFailed(path:errno:)``.
    package static func syncFolder(_ path: String) throws(RecordingError) {
        let folder = try SegmentFile(path: path, flags: O_RDONLY | O_DIRECTORY)
        defer { folder.close() }
        guard SegmentFile.sync(folder.descriptor, dataOnly: false) == 0 else {
            // Some file systems cannot sync a folder (EINVAL); their entries are as durable as they make them.
            guard errno == EINVAL else { throw .syncFailed(path: path, errno: errno) }
            return
        }
    }
}
