import Foundation
import FrameStream
import FrameStreamTesting
import Testing

@testable import FrameStreamRecording

/// Retention: the oldest segments go first when a camera's age or byte limit, the store's total, or the free-space
/// floor is passed; a segment being written or read stays; what goes leaves the disk and the catalog.
struct RecordingRetentionTests {
    /// One-second segments.
    static let segments = FrameRecorder.Configuration(segmentDuration: .seconds(1))

    /// The size on disk of a segment of `frames`: the JPEGs, the index header and a record each.
    static func size(of frames: some Collection<TestFrame>) -> Int64 {
        Int64(
            frames.reduce(0) { $0 + $1.jpeg.count } + SegmentIndexHeader.size + frames.count * SegmentIndexRecord.size
        )
    }

    /// Checks that exactly the segments of `rows` are on disk, in the catalog, and in a store opened anew.
    static func expectOnly(
        _ rows: [CatalogSegment],
        in store: RecordingStore,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let paths = rows.map(\.path).sorted()
        #expect(
            segmentFiles(in: store.folder) == paths.flatMap { ["\($0).idx", "\($0).mjpeg"] },
            sourceLocation: sourceLocation
        )
        #expect(try catalogRows(of: store).map(\.path).sorted() == paths, sourceLocation: sourceLocation)
        let reopened = try RecordingStore(folder: store.folder, logger: quietLogger)
        #expect(try catalogRows(of: reopened).map(\.path).sorted() == paths, sourceLocation: sourceLocation)
    }

    /// Sets a camera's limits in a store, as a recorder made for it does.
    static func keep(_ limits: RetentionLimits, camera: String, in store: RecordingStore) {
        _ = FrameRecorder(
            camera: camera,
            broadcaster: FrameBroadcaster(source: ManualCamera(), logger: quietLogger),
            store: store,
            configuration: FrameRecorder.Configuration(keep: limits),
            logger: quietLogger
        )
    }

    // MARK: Age

    @Test func segmentsOlderThanTheMaximumAgeGoOldestFirstExceptOneBeingRead() async throws {
        try await withTemporaryFolder { folder in
            // Five one-second segments recorded just now; retention then runs as if an hour had passed.
            let start = Date().microsSince1970
            let frames = testFrames(50, from: start, spacing: .milliseconds(100))
            let hour: Int64 = 3_600_000_000
            var configuration = Self.segments
            configuration.keep = RetentionLimits(maxAge: .seconds(3600))
            let store = try RecordingStore(folder: folder, logger: quietLogger)
            try await record(frames, in: folder, configuration: configuration, store: store)
            let rows = try catalogRows(of: store)
            try #require(rows.count == 5)

            // Nothing is an hour old yet.
            #expect(store.enforceRetention(now: Date(microsSince1970: start + hour)) == 0)

            // 2.5 s later the first two segments (ending at 0.9 s and 1.9 s) are past the limit, the third not.
            #expect(store.enforceRetention(now: Date(microsSince1970: start + hour + 2_500_000)) == 2)
            try Self.expectOnly(Array(rows[2...]), in: store)
            #expect(store.history(camera: "door").frame(after: .min)?.label == frames[20].label)
            #expect(store.usage(camera: "door").segments == 3)

            // A reader of the oldest segment keeps it; the next one goes instead.
            var reader: RecordingHistory? = store.history(camera: "door")
            #expect(reader?.frame(atOrAfter: start)?.label == frames[20].label)
            #expect(store.enforceRetention(now: Date(microsSince1970: start + hour + 4_500_000)) == 1)
            try Self.expectOnly([rows[2], rows[4]], in: store)
            #expect(reader?.frame(after: frames[20].micros)?.label == frames[21].label)

            // Once the reader is gone, the next pass deletes it.
            reader = nil
            #expect(store.enforceRetention(now: Date(microsSince1970: start + hour + 4_500_000)) == 1)
            try Self.expectOnly([rows[4]], in: store)
        }
    }

    @Test func theOpenSegmentIsNeverDeletedThoughItIsTooOld() async throws {
        try await withTemporaryFolder { folder in
            // Footage captured two hours ago, kept for an hour: each segment goes as soon as it is closed.
            let start = Date().microsSince1970 - 7_200_000_000
            let frames = testFrames(45, from: start, spacing: .milliseconds(100))
            var configuration = Self.segments
            configuration.keep = RetentionLimits(maxAge: .seconds(3600))
            try await withRecording(folder: folder, configuration: configuration) { rig in
                try await rig.record(frames)
                let rows = try catalogRows(of: rig.store)
                #expect(rows.map(\.state) == [.open])
                #expect(rig.store.enforceRetention() == 0)
                #expect(rig.store.enforceRetention(now: Date().addingTimeInterval(1e6)) == 0)
                #expect(rig.store.usage(camera: "door").segments == 1)
                #expect(segmentFiles(in: folder).count == 2)
                #expect(labelsOfAllFrames(of: rig.store.history(camera: "door")) == frames[40...].map(\.label))
                // And it is written on.
                try await rig.record([TestFrame(45, micros: start + 4_500_000)])
                #expect(labelsOfAllFrames(of: rig.store.history(camera: "door")).count == 6)
            }
            // Closed, it is old footage like any other.
            #expect(segmentFiles(in: folder).isEmpty)
            #expect(try catalogRows(of: RecordingStore(folder: folder, logger: quietLogger)).isEmpty)
        }
    }

    // MARK: Bytes

    @Test func aCameraOverItsBytesLosesItsOldestSegmentsWhileRecording() async throws {
        try await withTemporaryFolder { folder in
            let frames = testFrames(50, from: fixedStart, spacing: .milliseconds(100))
            let sizes = stride(from: 0, to: 50, by: 10).map { Self.size(of: frames[$0..<($0 + 10)]) }
            // Room for the newest two segments, not three.
            let limit = sizes[3] + sizes[4] + 10
            var configuration = Self.segments
            configuration.keep = RetentionLimits(maxBytes: limit)
            let other = testFrames(30, from: fixedStart - 10_000_000, spacing: .milliseconds(100), firstIndex: 100)
            let store = try RecordingStore(folder: folder, logger: quietLogger)
            // Another camera without limits keeps all of its older footage.
            try await record(other, in: folder, camera: "yard", configuration: Self.segments, store: store)
            try await record(frames, in: folder, configuration: configuration, store: store)

            let rows = try catalogRows(of: store)
            #expect(rows.filter { $0.camera == "door" }.map(\.startMicros) == [frames[30].micros, frames[40].micros])
            #expect(rows.filter { $0.camera == "door" }.map(\.bytes) == [sizes[3], sizes[4]])
            #expect(store.usage(camera: "door") == (2, sizes[3] + sizes[4]))
            #expect(store.usage(camera: "yard").segments == 3)
            try Self.expectOnly(rows, in: store)
            #expect(labelsOfAllFrames(of: store.history(camera: "door")) == frames[30...].map(\.label))
        }
    }

    @Test func theStoreOverItsTotalLosesTheOldestSegmentsOfAnyCamera() async throws {
        try await withTemporaryFolder { folder in
            // Two cameras whose segments alternate in time: door at 0, 1, 2, 3 s, yard at 0.5, 1.5, 2.5, 3.5 s.
            let door = testFrames(40, from: fixedStart, spacing: .milliseconds(100))
            let yard = testFrames(40, from: fixedStart + 500_000, spacing: .milliseconds(100), firstIndex: 100)
            try await record(door, in: folder, configuration: Self.segments)
            try await record(yard, in: folder, camera: "yard", configuration: Self.segments)

            let all = try catalogRows(of: RecordingStore(folder: folder, logger: quietLogger))
            try #require(all.map(\.camera) == ["door", "yard", "door", "yard", "door", "yard", "door", "yard"])
            // Room for the newest three.
            let limit = all[5...].reduce(0) { $0 + $1.bytes }
            let store = try RecordingStore(
                folder: folder,
                configuration: RecordingStore.Configuration(maxTotalBytes: limit),
                logger: quietLogger
            )
            #expect(store.enforceRetention() == 5)
            try Self.expectOnly(Array(all[5...]), in: store)
            #expect(store.usage(camera: "door").bytes + store.usage(camera: "yard").bytes == limit)
            #expect(store.enforceRetention() == 0)
            #expect(labelsOfAllFrames(of: store.history(camera: "door")) == door[30...].map(\.label))
            #expect(labelsOfAllFrames(of: store.history(camera: "yard")) == yard[20...].map(\.label))
        }
    }

    // MARK: Free space

    @Test func underTheFreeSpaceFloorTheOldestSegmentsOfAnyCameraGo() async throws {
        try await withTemporaryFolder { folder in
            let door = testFrames(40, from: fixedStart, spacing: .milliseconds(100))
            let yard = testFrames(40, from: fixedStart + 500_000, spacing: .milliseconds(100), firstIndex: 100)
            try await record(door, in: folder, configuration: Self.segments)
            try await record(yard, in: folder, camera: "yard", configuration: Self.segments)
            let all = try catalogRows(of: RecordingStore(folder: folder, logger: quietLogger))
            try #require(all.count == 8)

            // A disk whose free space is what the segment files leave of a fixed size; 1 MB must stay free, and
            // the first three segments are in the way of that, by a byte.
            let floor: Int64 = 1_000_000
            let segmentBytes = bytesOfSegmentFiles(in: folder)
            #expect(segmentBytes == all.reduce(0) { $0 + $1.bytes })
            let capacity = segmentBytes + floor - (all[0].bytes + all[1].bytes + all[2].bytes) + 1
            let store = try RecordingStore(
                folder: folder,
                configuration: RecordingStore.Configuration(minFreeBytes: floor),
                freeSpace: { path in
                    FreeSpace(availableBytes: capacity - bytesOfSegmentFiles(in: path), totalBytes: capacity)
                },
                logger: quietLogger
            )
            #expect(store.enforceRetention() == 3)
            try Self.expectOnly(Array(all[3...]), in: store)
            // The disk has the room now.
            #expect(store.enforceRetention() == 0)
        }
    }

    @Test func aFullDiskEmptiesAllButTheOpenSegmentAndTheOnesBeingRead() async throws {
        try await withTemporaryFolder { folder in
            // Always under 5 % free: every segment goes once it is closed and nobody reads it.
            let store = try RecordingStore(
                folder: folder,
                configuration: RecordingStore.Configuration(minFreeFraction: 0.05),
                freeSpace: { _ in FreeSpace(availableBytes: 1000, totalBytes: 1_000_000) },
                logger: quietLogger
            )
            let frames = testFrames(50, from: fixedStart, spacing: .milliseconds(100))
            try await withRecording(folder: folder, configuration: Self.segments, store: store) { rig in
                // A reader of the first segment while it is written, and on after it has been closed.
                try await rig.record(Array(frames[0..<5]))
                var reader: RecordingHistory? = store.history(camera: "door")
                #expect(reader?.frame(after: .min)?.label == frames[0].label)
                try await rig.record(Array(frames[5...]))

                // The open segment and the one being read are left.
                let rows = try catalogRows(of: store)
                #expect(rows.map(\.startMicros) == [frames[0].micros, frames[40].micros])
                #expect(rows.map(\.state) == [.closed, .open])
                #expect(store.enforceRetention() == 0)
                #expect(segmentFiles(in: folder).count == 4)
                #expect(reader?.frame(after: frames[0].micros)?.label == frames[1].label)
                #expect(reader?.frame(atOrBefore: frames[9].micros)?.label == frames[9].label)
                #expect(store.history(camera: "door").frame(atOrAfter: frames[10].micros)?.label == frames[40].label)

                reader = nil
                #expect(store.enforceRetention() == 1)
                #expect(try catalogRows(of: store).map(\.state) == [.open])
                #expect(segmentFiles(in: folder).count == 2)
            }
            #expect(segmentFiles(in: folder).isEmpty)
            try Self.expectOnly([], in: store)
        }
    }
}
