#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the frames of a segment, closed or still being written, by position or by time.
///
/// ```swift
/// let reader = try SegmentReader(dataPath: data, indexPath: index)
/// if let position = reader.index(atOrAfter: start) {
///     let jpeg = try reader.frame(at: position)
/// }
/// ```
///
/// Safe to share between threads: it holds only constants, and reads with `pread(2)`, which keeps no file
/// position.
package final class SegmentReader: Sendable {
    /// The data file's path.
    package let dataPath: String
    /// The index header.
    package let header: SegmentIndexHeader
    /// The frames' records, in order; their capture times never decrease. For an open segment, those written when
    /// the reader was made.
    package let records: [SegmentIndexRecord]
    private let data: SegmentFile

    /// Opens a segment and reads its index: the header and every complete record (a partial one at the end, being
    /// written right now, is left out).
    /// - Throws: ``RecordingError/cannotOpen(path:errno:)``, ``RecordingError/readFailed(path:errno:)`` or
    ///   ``RecordingError/corruptIndex(path:reason:)``.
    package convenience init(dataPath: String, indexPath: String) throws(RecordingError) {
        let index = try SegmentFile(path: indexPath, flags: O_RDONLY)
        defer { index.close() }
        // Only whole records: the writer may be adding one while this reads.
        let size = try index.size()
        let count = size < UInt64(SegmentIndexHeader.size) ? Int(size) : Self.wholeRecordsLength(size)
        let bytes = try index.read(count: count, at: 0)
        let header = try SegmentIndexHeader.decode(bytes, path: indexPath)
        let records = bytes.withUnsafeBytes { raw in
            SegmentIndexRecord.decodeAll(from: UnsafeRawBufferPointer(rebasing: raw[SegmentIndexHeader.size...]))
        }
        try self.init(dataPath: dataPath, header: header, records: records)
    }

    /// Opens a segment's data file only, with records known already: those of a ``SegmentWriter`` still writing it,
    /// or of a ``SegmentRecovery/Report``.
    /// - Throws: ``RecordingError/cannotOpen(path:errno:)``.
    package init(dataPath: String, header: SegmentIndexHeader, records: [SegmentIndexRecord]) throws(RecordingError) {
        self.dataPath = dataPath
        self.header = header
        self.records = records
        data = try SegmentFile(path: dataPath, flags: O_RDONLY)
    }

    deinit {
        data.close()
    }

    /// The frames in the segment.
    package var count: Int { records.count }

    /// The JPEG of the frame at `index` (in ``records``), checked against its checksum.
    /// - Throws: ``RecordingError/corruptFrame(path:offset:)`` if the bytes read do not match the record's
    ///   checksum or are not all there, ``RecordingError/readFailed(path:errno:)``.
    package func frame(at index: Int) throws(RecordingError) -> [UInt8] {
        precondition(records.indices.contains(index), "frame \(index) of a segment of \(records.count) frames")
        return try frame(for: records[index])
    }

    /// The JPEG a record points at, checked against its checksum: for the records of a segment still being written,
    /// which this reader's ``records`` do not have.
    package func frame(for record: SegmentIndexRecord) throws(RecordingError) -> [UInt8] {
        let bytes = try data.read(count: Int(record.length), at: UInt64(record.offset))
        guard bytes.count == Int(record.length), CRC32C.checksum(bytes) == record.checksum else {
            throw .corruptFrame(path: dataPath, offset: UInt64(record.offset))
        }
        return bytes
    }

    /// The position of the last frame captured at or before `micros`, or `nil` if all are later.
    package func index(atOrBefore micros: Int64) -> Int? {
        let after = firstIndex { $0.captureMicros > micros }
        return after > 0 ? after - 1 : nil
    }

    /// The position of the first frame captured at or after `micros`, or `nil` if all are earlier.
    package func index(atOrAfter micros: Int64) -> Int? {
        let position = firstIndex { $0.captureMicros >= micros }
        return position < records.count ? position : nil
    }

    /// The first position whose record satisfies `predicate`, which must be false for a prefix of the records and
    /// true for the rest (binary search); `records.count` if none does.
    private func firstIndex(where predicate: (SegmentIndexRecord) -> Bool) -> Int {
        var low = 0
        var high = records.count
        while low < high {
            let middle = low + (high - low) / 2
            if predicate(records[middle]) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }

    /// The length of the header and the whole records in an index file of `size` bytes.
    static func wholeRecordsLength(_ size: UInt64) -> Int {
        let records = (Int(size) - SegmentIndexHeader.size) / SegmentIndexRecord.size
        return SegmentIndexHeader.size + records * SegmentIndexRecord.size
    }
}
