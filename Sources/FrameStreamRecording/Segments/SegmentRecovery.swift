#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Repairs a segment that was being written when the process or the machine stopped, so that it can be closed and
/// read: its index then lists exactly the frames in its data file, each whole and matching its checksum.
///
/// 1. The index is cut at its first record that is partial, does not follow the previous one (the first at offset
///    0), reaches past the end of the data, goes back in time, or fails its checksum; the records after it go too.
/// 2. Complete JPEGs in the data after the last good record, one right after the other, are added to the index,
///    flagged ``SegmentIndexRecord/Flags/recovered``: a process killed between writing a frame and its record leaves
///    one. Their capture times are estimated: the last record's plus the median interval of the last 30 records.
/// 3. The data is cut after the last frame kept; the index is rewritten (to `NAME.idx.tmp`, synced, renamed over,
///    the folder synced) if anything changed; the data file is synced.
///
/// An index without a readable header (missing, short, or not an index) is rebuilt from the data alone: every
/// complete JPEG is recovered, timed from the start time in the file name, one microsecond apart.
///
/// ```swift
/// let report = try SegmentRecovery.recover(dataPath: data, indexPath: index)
/// logger.info("recovered \(report.recoveredFrames) frames, cut \(report.truncatedBytes) bytes")
/// ```
package enum SegmentRecovery {
    /// What recovery found and did.
    package struct Report: Sendable, Hashable {
        /// The index header: the one read, or one rebuilt from the file name.
        package var header: SegmentIndexHeader
        /// The records of the index now, in order: those kept, then those of the recovered frames.
        package var records: [SegmentIndexRecord]
        /// Index records dropped: partial, out of place, past the data, or failing their checksum, and all after
        /// the first of those; with a rebuilt index, all records the old file held.
        package var cutRecords: Int
        /// Complete JPEGs found in the data after the last good record and added to the index.
        package var recoveredFrames: Int
        /// Bytes cut off the end of the data file: what followed the last complete frame.
        package var truncatedBytes: UInt64
        /// Whether the index header was missing or unreadable and the index was rebuilt from the data.
        package var rebuiltIndex: Bool
    }

    /// How many of the last records give the interval that times recovered frames.
    private static let intervalSample = 30

    /// Repairs a segment; see ``SegmentRecovery`` for the rules.
    /// - Parameters:
    ///   - dataPath: the segment's data file (`START_US-SEQ.mjpeg`).
    ///   - indexPath: its index file, which may be missing.
    ///   - camera: the camera's name, for an index header that must be rebuilt.
    /// - Throws: ``RecordingError/cannotOpen(path:errno:)`` if the data file is missing or not writable,
    ///   ``RecordingError/corruptIndex(path:reason:)`` if the index must be rebuilt but the data file's name holds
    ///   no start time, read, write and sync errors.
    package static func recover(
        dataPath: String,
        indexPath: String,
        camera: String = ""
    ) throws(RecordingError) -> Report {
        let data = try SegmentFile(path: dataPath, flags: O_RDWR)
        defer { data.close() }
        let dataSize = try data.size()
        let index = try readIndex(indexPath, dataPath: dataPath, camera: camera)

        let (kept, recovered, end) = try withContents(of: data, size: dataSize) { bytes in
            let kept = validRecords(index.records, in: bytes)
            guard !kept.corrupt else { return (kept.records, [SegmentIndexRecord](), kept.end) }
            let recovered = completeFrames(in: bytes, from: kept.end, after: kept.records, header: index.header)
            return (kept.records, recovered, recovered.last?.end ?? kept.end)
        }

        let report = Report(
            header: index.header,
            records: kept + recovered,
            cutRecords: index.records.count - kept.count + index.partialRecords,
            recoveredFrames: recovered.count,
            truncatedBytes: dataSize - end,
            rebuiltIndex: index.rebuilt
        )
        if end < dataSize {
            try data.truncate(to: end)
        }
        if report.rebuiltIndex || report.cutRecords > 0 || report.recoveredFrames > 0 {
            try rewriteIndex(indexPath, header: report.header, records: report.records)
        }
        try data.sync(dataOnly: false)
        return report
    }

    /// An index file as found.
    private struct FoundIndex {
        var header: SegmentIndexHeader
        var records: [SegmentIndexRecord]
        /// Records dropped unread: a partial one at the end, or all of them when the header is unreadable.
        var partialRecords: Int
        var rebuilt: Bool
    }

    /// The index file's header and records; one rebuilt from the data file's name if the file is missing or has no
    /// readable header.
    private static func readIndex(
        _ indexPath: String,
        dataPath: String,
        camera: String
    ) throws(RecordingError)
        -> FoundIndex
    {
        var bytes: [UInt8] = []
        do {
            let file = try SegmentFile(path: indexPath, flags: O_RDONLY)
            defer { file.close() }
            bytes = try file.read(count: Int(try file.size()), at: 0)
        } catch .cannotOpen(_, ENOENT) {
            // Created without its index, or the index was lost: rebuilt below.
        }
        if let header = try? SegmentIndexHeader.decode(bytes, path: indexPath) {
            let body = bytes.count - SegmentIndexHeader.size
            let records = bytes.withUnsafeBytes { raw in
                SegmentIndexRecord.decodeAll(from: UnsafeRawBufferPointer(rebasing: raw[SegmentIndexHeader.size...]))
            }
            return FoundIndex(
                header: header,
                records: records,
                partialRecords: body % SegmentIndexRecord.size == 0 ? 0 : 1,
                rebuilt: false
            )
        }
        guard let startMicros = SegmentName.startMicros(fromFileName: dataPath) else {
            throw .corruptIndex(
                path: indexPath,
                reason: "no readable header, and the data file's name holds no start time (START_US-SEQ.mjpeg)"
            )
        }
        let body = max(0, bytes.count - SegmentIndexHeader.size)
        return FoundIndex(
            header: SegmentIndexHeader(camera: camera, startMicros: startMicros),
            records: [],
            partialRecords: (body + SegmentIndexRecord.size - 1) / SegmentIndexRecord.size,
            rebuilt: true
        )
    }

    /// The records up to the first that is out of place, past the data, back in time or fails its checksum; where
    /// the last of them ends; whether the cut was for a checksum.
    private static func validRecords(
        _ records: [SegmentIndexRecord],
        in bytes: UnsafeRawBufferPointer
    ) -> (records: [SegmentIndexRecord], end: UInt64, corrupt: Bool) {
        var kept: [SegmentIndexRecord] = []
        var end: UInt64 = 0
        for record in records {
            guard UInt64(record.offset) == end, record.end <= UInt64(bytes.count),
                record.captureMicros >= kept.last?.captureMicros ?? .min
            else { break }
            let frame = UnsafeRawBufferPointer(rebasing: bytes[Int(record.offset)..<Int(record.end)])
            guard CRC32C.checksum(frame) == record.checksum else {
                // The frame is there but its bytes changed. Recovering it from the data would vouch for the changed
                // bytes with a new checksum, and the frames after it can only be reached through it: all go.
                return (kept, end, true)
            }
            kept.append(record)
            end = record.end
        }
        return (kept, end, false)
    }

    /// The complete JPEGs one after the other from `start`, up to the first that is not, as recovered records.
    private static func completeFrames(
        in bytes: UnsafeRawBufferPointer,
        from start: UInt64,
        after kept: [SegmentIndexRecord],
        header: SegmentIndexHeader
    ) -> [SegmentIndexRecord] {
        let step = interval(of: kept.suffix(intervalSample))
        // Without records, the first frame in the data is the segment's first: its time is the segment's start.
        var micros = kept.last.map { $0.captureMicros &+ step } ?? header.startMicros
        var recovered: [SegmentIndexRecord] = []
        var position = Int(start)
        while case .complete(let length) = JPEGExtent.measure(bytes, from: position),
            position + length <= Int(UInt32.max)
        {
            let frame = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            recovered.append(
                SegmentIndexRecord(
                    captureMicros: micros,
                    offset: UInt32(position),
                    length: UInt32(length),
                    checksum: CRC32C.checksum(frame),
                    flags: .recovered
                )
            )
            position += length
            micros &+= step
        }
        return recovered
    }

    /// The median interval between consecutive records, at least 1 µs so that estimated times increase; 1 µs with
    /// fewer than two records.
    private static func interval(of records: ArraySlice<SegmentIndexRecord>) -> Int64 {
        guard records.count >= 2 else { return 1 }
        let intervals = zip(records.dropFirst(), records).map { $0.captureMicros &- $1.captureMicros }.sorted()
        return max(1, intervals[intervals.count / 2])
    }

    /// Calls `body` with the whole file: mapped into memory, or read into it where mapping fails.
    private static func withContents<Result>(
        of file: SegmentFile,
        size: UInt64,
        _ body: (UnsafeRawBufferPointer) -> Result
    ) throws(RecordingError) -> Result {
        guard size > 0 else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if let address = mmap(nil, Int(size), PROT_READ, MAP_SHARED, file.descriptor, 0),
            address != UnsafeMutableRawPointer(bitPattern: -1)
        {
            defer { munmap(address, Int(size)) }
            return body(UnsafeRawBufferPointer(start: address, count: Int(size)))
        }
        let bytes = try file.read(count: Int(size), at: 0)
        return bytes.withUnsafeBytes { body($0) }
    }

    /// Replaces the index file with `header` and `records`, so that a crash now leaves the old one or the new one,
    /// never a mix: written to `PATH.tmp`, synced, renamed over the old, the folder synced.
    private static func rewriteIndex(
        _ path: String,
        header: SegmentIndexHeader,
        records: [SegmentIndexRecord]
    ) throws(RecordingError) {
        let temporary = path + ".tmp"
        var bytes = header.encoded()
        bytes.reserveCapacity(SegmentIndexHeader.size + records.count * SegmentIndexRecord.size)
        for record in records {
            bytes += record.encoded()
        }
        let file = try SegmentFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try file.write(bytes, at: 0, with: SegmentFile.systemWrite)
            try file.sync(dataOnly: false)
            file.close()
        } catch {
            file.close()
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .writeFailed(path: path, errno: code)
        }
        let slash = path.lastIndex(of: "/")
        try SegmentWriter.syncFolder(slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? ".")
    }
}
