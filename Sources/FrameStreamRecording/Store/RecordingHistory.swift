public import FrameStream
import Logging
import Synchronization

/// One camera's recording read by time: a `FrameHistory` over a ``RecordingStore``'s segments, including the one
/// being written.
///
/// Each reader (a playback, an export) gets its own from ``RecordingStore/history(camera:)``: it keeps the segment
/// it last read open, and retention does not delete that segment until the reader moves on or is gone. A frame
/// whose checksum fails is skipped.
public final class RecordingHistory: FrameHistory {
    /// The camera.
    public let camera: String
    private let store: RecordingStore
    /// The segment read last: its id, its reader, and whether the segment was still being written when the reader
    /// was made (such a reader has no records of its own).
    private let current = Mutex<(id: Int64, reader: SegmentReader, open: Bool)?>(nil)

    init(store: RecordingStore, camera: String) {
        self.store = store
        self.camera = camera
    }

    deinit {
        if let id = current.withLock({ $0?.id }) { store.markReading(id, -1) }
    }

    private enum Direction {
        case atOrBefore
        case after
        case before
    }

    public func frame(atOrBefore micros: Int64) -> RecordedFrame? { find(.atOrBefore, micros, Self.reading) }

    public func frame(after micros: Int64) -> RecordedFrame? { find(.after, micros, Self.reading) }

    public func frame(before micros: Int64) -> RecordedFrame? { find(.before, micros, Self.reading) }

    public func captureTime(atOrBefore micros: Int64) -> Int64? { find(.atOrBefore, micros, Self.indexTime) }

    public func captureTime(after micros: Int64) -> Int64? { find(.after, micros, Self.indexTime) }

    public func captureTime(before micros: Int64) -> Int64? { find(.before, micros, Self.indexTime) }

    /// Reads the record's frame: `nil` when it cannot be read (the search goes on to the next record).
    private static func reading(
        _ record: SegmentIndexRecord,
        _ read: (SegmentIndexRecord) -> [UInt8]?
    ) -> RecordedFrame? {
        read(record).map { RecordedFrame(jpeg: $0, captureMicros: record.captureMicros) }
    }

    /// The record's time, from the index alone.
    private static func indexTime(_ record: SegmentIndexRecord, _: (SegmentIndexRecord) -> [UInt8]?) -> Int64? {
        record.captureMicros
    }

    public var timeRange: ClosedRange<Int64>? {
        store.state.withLock { state -> ClosedRange<Int64>? in
            guard let entries = state.segments[camera]?.filter({ $0.row.frames > 0 || $0.open != nil }),
                let first = entries.first, let last = entries.last
            else { return nil }
            let end = last.open?.records.last?.captureMicros ?? last.row.endMicros
            return first.row.startMicros...max(first.row.startMicros, end)
        }
    }

    public func spans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan] {
        store.spans(camera: camera, overlapping: range)
    }

    /// Finds the record, trying the segment that holds the time and then its neighbours in the direction asked, and
    /// gives it to `take`; a record `take` refuses is passed over for the next one in that direction.
    private func find<Found>(
        _ direction: Direction,
        _ micros: Int64,
        _ take: (SegmentIndexRecord, (SegmentIndexRecord) -> [UInt8]?) -> Found?
    ) -> Found? {
        let entries = store.state.withLock { $0.segments[camera] ?? [] }
        guard !entries.isEmpty else { return nil }
        // The last segment starting at or before the time (or the first one).
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].row.startMicros <= micros { low = middle + 1 } else { high = middle }
        }
        var position = max(0, low - 1)
        var target = micros
        var tried = 0
        while entries.indices.contains(position), tried < 64 {
            tried += 1
            let entry = entries[position]
            guard let (records, read) = reader(for: entry) else {
                position += direction == .after ? 1 : -1
                continue
            }
            var index: Int?
            switch direction {
            case .atOrBefore: index = Self.lastIndex(in: records, atOrBefore: target)
            case .before: index = Self.lastIndex(in: records, atOrBefore: target - 1)
            case .after: index = Self.firstIndex(in: records, after: target)
            }
            while let found = index, records.indices.contains(found) {
                if let taken = take(records[found], read) { return taken }
                // Unreadable: the next one in the same direction.
                index = direction == .after ? found + 1 : found - 1
            }
            position += direction == .after ? 1 : -1
            target = direction == .after ? .min : .max
        }
        return nil
    }

    /// The records of a segment and a way to read its frames.
    private func reader(
        for entry: RecordingStore.Entry
    ) -> ([SegmentIndexRecord], (SegmentIndexRecord) -> [UInt8]?)? {
        guard let id = entry.row.id else { return nil }
        let reader: SegmentReader
        // A reader made while the segment was open knows no records: once the segment is closed, open its index.
        let open = entry.open != nil
        if let cached = current.withLock({ $0?.id == id && $0?.open == open ? $0?.reader : nil }) {
            reader = cached
        } else {
            do {
                if let open = entry.open {
                    reader = try SegmentReader(dataPath: open.dataPath, header: open.header, records: [])
                } else {
                    reader = try SegmentReader(
                        dataPath: "\(store.folder)/\(entry.row.path).mjpeg",
                        indexPath: "\(store.folder)/\(entry.row.path).idx"
                    )
                }
            } catch {
                store.logger.error(
                    "recording unreadable",
                    metadata: ["segment": "\(entry.row.path)", "error": "\(error)"]
                )
                return nil
            }
            // The new segment is marked before the previous one (which may be the same) is released.
            store.markReading(id, 1)
            let previous = current.withLock { current in
                defer { current = (id, reader, open) }
                return current?.id
            }
            if let previous { store.markReading(previous, -1) }
        }
        let records = entry.open?.records ?? reader.records
        return (
            records,
            { [store] record in
                do {
                    return try reader.frame(for: record)
                } catch {
                    store.logger.error("recorded frame unreadable", metadata: ["error": "\(error)"])
                    return nil
                }
            }
        )
    }

    private static func lastIndex(in records: [SegmentIndexRecord], atOrBefore micros: Int64) -> Int? {
        let index = firstIndex(in: records, after: micros) - 1
        return index >= 0 ? index : nil
    }

    private static func firstIndex(in records: [SegmentIndexRecord], after micros: Int64) -> Int {
        var low = 0
        var high = records.count
        while low < high {
            let middle = (low + high) / 2
            if records[middle].captureMicros <= micros { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
