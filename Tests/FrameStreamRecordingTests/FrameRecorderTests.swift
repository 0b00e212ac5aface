import Foundation
import FrameStream
import FrameStreamTesting
import Logging
import Testing

@testable import FrameStreamRecording

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The recorder end to end: a manual camera, its broadcaster, a recorder and a store in a temporary folder; what
/// reaches the files, how segments are cut, what a crash leaves and how the next start repairs it, and write errors.
struct FrameRecorderTests {
    // MARK: Every frame, in order, with its time

    @Test func everyFramePublishedReachesTheFilesInOrderWithItsTime() async throws {
        try await withTemporaryFolder { folder in
            // Different lengths and bytes, 30 fps, with one frame 1 µs after the one before.
            var frames = testFrames(150, from: fixedStart, spacing: .microseconds(33_333))
            frames[70].micros = frames[69].micros + 1
            let expected = frames.map(\.label)
            let (rig, history) = try await withRecording(folder: folder) { rig in
                // Nobody in the test subscribed: the recorder turned the camera on, and keeps it on although the
                // broadcaster stops an unwatched camera at once.
                #expect(rig.broadcaster.status.subscribers == 1)
                #expect(rig.camera.starts == 1)
                try await rig.record(frames)
                try await Task.sleep(for: .milliseconds(50))
                #expect(rig.camera.isRunning && rig.camera.stops == 0 && rig.broadcaster.status.isRunning)

                let status = rig.recorder.status
                #expect(status.recording && status.framesWritten == 150 && status.framesDropped == 0)
                #expect(status.lastWrittenMicros == frames.last?.micros && status.lastWrittenSequence == 150)
                #expect(status.lastError == nil)
                #expect(status.bytesWritten == UInt64(frames.reduce(0) { $0 + $1.jpeg.count + 24 }))

                // Read while the segment is still being written.
                let history = rig.store.history(camera: "door")
                #expect(labelsOfAllFrames(of: history) == expected)
                #expect(history.timeRange == frames[0].micros...frames[149].micros)
                #expect(history.frame(atOrBefore: frames[70].micros + 5)?.label == expected[70])
                #expect(history.frame(before: frames[70].micros)?.label == expected[69])
                #expect(
                    history.frames(in: frames[10].micros...frames[20].micros).map(\.label) == Array(expected[10...20])
                )
                return (rig, history)
            }
            #expect(!rig.recorder.status.recording)
            #expect(rig.recorder.status.framesWritten == 150)

            // The same reader once the recorder has closed the segment it was reading.
            #expect(labelsOfAllFrames(of: history) == expected)
            #expect(history.frame(atOrBefore: .max)?.label == expected.last)

            // A new store on the folder, as after a restart: the catalog says the segment is closed, and the files
            // hold the same frames.
            let reopened = try RecordingStore(folder: folder, logger: quietLogger)
            let rows = try catalogRows(of: reopened)
            #expect(rows.count == 1 && rows.allSatisfy { $0.state == .closed && $0.frames == 150 })
            #expect(labelsOfAllFrames(of: reopened.history(camera: "door")) == expected)
            #expect(
                reopened.spans(camera: "door", overlapping: .min ... .max) == [
                    RecordedSpan(
                        startMicros: frames[0].micros,
                        endMicros: frames[149].micros,
                        frames: 150,
                        bytes: Int64(frames.reduce(0) { $0 + $1.jpeg.count })
                    )
                ]
            )
            #expect(labelsOfAllFrames(of: reopened.history(camera: "other")).isEmpty)
        }
    }

    @Test func placeholdersShownWhileTheCameraStartsNeverReachTheFiles() async throws {
        try await withTemporaryFolder { folder in
            let frames = testFrames(3, from: fixedStart, spacing: .milliseconds(100))
            try await withRecording(folder: folder) { rig in
                // Placeholders are on by default: after a second without a frame the camera "is starting".
                try await waitUntil("a placeholder") { rig.broadcaster.currentPlaceholder != nil }
                #expect(rig.recorder.status.framesWritten == 0)
                try await rig.record(frames)
                #expect(rig.broadcaster.currentPlaceholder == nil)
                #expect(rig.recorder.status.framesWritten == 3)
                #expect(labelsOfAllFrames(of: rig.store.history(camera: "door")) == frames.map(\.label))
            }
        }
    }

    // MARK: Segments

    @Test func segmentsAreCutAtTheirDurationAndAtGaps() async throws {
        try await withTemporaryFolder { folder in
            let configuration = FrameRecorder.Configuration(segmentDuration: .seconds(1), gap: .seconds(2))
            // 5 s at 10 fps, a 5 s gap, 1.5 s at 20 fps, a 3 s gap, 1.2 s at 5 fps.
            let first = testFrames(50, from: fixedStart, spacing: .milliseconds(100))
            let second = testFrames(
                30,
                from: first.last!.micros + 5_000_000,
                spacing: .milliseconds(50),
                firstIndex: 50
            )
            let third = testFrames(
                7,
                from: second.last!.micros + 3_000_000,
                spacing: .milliseconds(200),
                firstIndex: 80
            )
            let frames = first + second + third
            let recorder = try await withRecording(folder: folder, configuration: configuration) { rig in
                try await rig.record(frames)
                return rig.recorder
            }

            let store = recorder.store
            let rows = try catalogRows(of: store)
            #expect(rows.map(\.frames) == [10, 10, 10, 10, 10, 20, 10, 5, 2])
            #expect(rows.allSatisfy { $0.state == .closed })
            let startIndices = [0, 10, 20, 30, 40, 50, 70, 80, 85]
            #expect(rows.map(\.startMicros) == startIndices.map { frames[$0].micros })
            #expect(rows.map(\.endMicros) == (startIndices.dropFirst() + [87]).map { frames[$0 - 1].micros })

            // The first frame after a gap is flagged; a cut for the duration is not a discontinuity.
            let firstFlags = try rows.map { row in
                try SegmentReader(dataPath: "\(folder)/\(row.path).mjpeg", indexPath: "\(folder)/\(row.path).idx")
                    .records.first?.flags.contains(.discontinuity)
            }
            #expect(firstFlags == [false, false, false, false, false, true, false, true, false])

            let expectedSpans = [first, second, third].map { stretch in
                RecordedSpan(
                    startMicros: stretch.first!.micros,
                    endMicros: stretch.last!.micros,
                    frames: stretch.count,
                    bytes: Int64(stretch.reduce(0) { $0 + $1.jpeg.count })
                )
            }
            #expect(store.spans(camera: "door", overlapping: .min ... .max) == expectedSpans)
            #expect(recorder.recordedSpans(overlapping: .min ... .max) == expectedSpans)
            // Only the segments that overlap the range: here the first of the second stretch.
            #expect(
                store.spans(camera: "door", overlapping: (second[3].micros)...(second[4].micros)) == [
                    RecordedSpan(
                        startMicros: second[0].micros,
                        endMicros: second[19].micros,
                        frames: 20,
                        bytes: Int64(second[..<20].reduce(0) { $0 + $1.jpeg.count })
                    )
                ]
            )

            // The catalog answers the same after a restart, and the frames are all there.
            let reopened = try RecordingStore(folder: folder, logger: quietLogger)
            #expect(reopened.spans(camera: "door", overlapping: .min ... .max) == expectedSpans)
            #expect(try catalogRows(of: reopened).map(\.path) == rows.map(\.path))
            #expect(labelsOfAllFrames(of: reopened.history(camera: "door")) == frames.map(\.label))
        }
    }

    @Test func aRecordersSpansBreakAtItsOwnGap() async throws {
        try await withTemporaryFolder { folder in
            // A gap of 1 s is one for a recorder that cuts at 0.5 s, though less than the store's default of 2 s.
            let configuration = FrameRecorder.Configuration(gap: .milliseconds(500))
            let before = testFrames(10, from: fixedStart, spacing: .milliseconds(100))
            let after = testFrames(
                10,
                from: before.last!.micros + 1_000_000,
                spacing: .milliseconds(100),
                firstIndex: 10
            )
            let recorder = try await withRecording(folder: folder, configuration: configuration) { rig in
                try await rig.record(before + after)
                return rig.recorder
            }
            #expect(try catalogRows(of: recorder.store).map(\.frames) == [10, 10])
            #expect(recorder.recordedSpans(overlapping: .min ... .max).map(\.frames) == [10, 10])
            // The store and the recorder's history break the spans at the recorder's gap too.
            #expect(recorder.store.spans(camera: "door", overlapping: .min ... .max).map(\.frames) == [10, 10])
            #expect(recorder.makeHistory().spans(overlapping: .min ... .max).map(\.frames) == [10, 10])
            // Asked for, a wider gap joins them.
            #expect(
                recorder.store.spans(camera: "door", overlapping: .min ... .max, joiningGap: .seconds(2)).map(\.frames)
                    == [20]
            )
        }
    }

    @Test func aClockSteppingBackStartsANewSegmentThatReadsInTimeOrder() async throws {
        try await withTemporaryFolder { folder in
            // The clock steps back 10 s after 10 frames: the frames after it are older than those before.
            let later = testFrames(10, from: fixedStart + 10_000_000, spacing: .milliseconds(100))
            let earlier = testFrames(10, from: fixedStart, spacing: .milliseconds(100), firstIndex: 10)
            let history = try await withRecording(folder: folder) { rig in
                try await rig.record(later + earlier)
                let history = rig.store.history(camera: "door")
                #expect(labelsOfAllFrames(of: history) == (earlier + later).map(\.label))
                return history
            }
            #expect(labelsOfAllFrames(of: history) == (earlier + later).map(\.label))
            let reopened = try RecordingStore(folder: folder, logger: quietLogger)
            #expect(labelsOfAllFrames(of: reopened.history(camera: "door")) == (earlier + later).map(\.label))
            #expect(reopened.spans(camera: "door", overlapping: .min ... .max).map(\.frames) == [10, 10])
        }
    }

    // MARK: Crashes and the catalog

    enum Tear: String, CaseIterable, CustomTestStringConvertible {
        /// The data file ends in the middle of the last frame.
        case dataMidFrame
        /// The index ends in the middle of a record, three frames before the end of the data.
        case indexMidRecord
        /// Both.
        case both

        var testDescription: String { rawValue }
    }

    @Test(arguments: Tear.allCases)
    func aCrashLeavesAnOpenSegmentThatTheNextOpenRepairs(_ tear: Tear) async throws {
        try await withTemporaryFolder { folder in
            let crashed = "\(folder)/crashed"
            // Four segments of 10 frames; no sync before the "crash", so the catalog knows nothing of the open
            // segment's frames.
            let configuration = FrameRecorder.Configuration(segmentDuration: .seconds(1), durability: .seconds(3600))
            let frames = testFrames(40, from: fixedStart, spacing: .milliseconds(100))
            try await withRecording(folder: "\(folder)/live", configuration: configuration) { rig in
                try await rig.record(frames)
                // What a `kill -9` now would leave: the files as they are, the last segment open.
                try FileManager.default.copyItem(atPath: "\(folder)/live", toPath: crashed)
            }

            let catalog = try RecordingCatalog(path: "\(crashed)/catalog.sqlite")
            let rowsAtCrash = try catalog.allSegments()
            #expect(rowsAtCrash.map(\.state) == [.closed, .closed, .closed, .open])
            let open = try #require(rowsAtCrash.last)
            let data = "\(crashed)/\(open.path).mjpeg"
            let index = "\(crashed)/\(open.path).idx"
            let records = try SegmentReader(dataPath: data, indexPath: index).records
            try #require(records.count == 10)

            var expected = frames
            if tear != .indexMidRecord {
                // Half of the last frame reached the disk.
                #expect(truncate(data, off_t(records[9].offset + records[9].length / 2)) == 0)
                expected.removeLast()
            }
            if tear != .dataMidFrame {
                // The index lost its last three records and has half of the one before; the frames in the data
                // after the last whole record are found again (their times estimated from the 100 ms interval).
                #expect(truncate(index, off_t(SegmentIndexHeader.size + 6 * SegmentIndexRecord.size + 10)) == 0)
            }

            let store = try RecordingStore(folder: crashed, logger: quietLogger)
            #expect(labelsOfAllFrames(of: store.history(camera: "door")) == expected.map(\.label))
            let rows = try catalogRows(of: store)
            #expect(rows.map(\.state) == [.closed, .closed, .closed, .closed])
            #expect(rows.map(\.frames) == [10, 10, 10, expected.count - 30])
            #expect(rows.last?.endMicros == expected.last?.micros)
            #expect(
                store.spans(camera: "door", overlapping: .min ... .max) == [
                    RecordedSpan(
                        startMicros: expected[0].micros,
                        endMicros: expected.last!.micros,
                        frames: expected.count,
                        bytes: Int64(expected.reduce(0) { $0 + $1.jpeg.count })
                    )
                ]
            )
            // The repaired files are consistent: the index lists exactly the frames in the data.
            let repaired = try SegmentReader(dataPath: data, indexPath: index)
            #expect(repaired.records.count == expected.count - 30)
            #expect(UInt64(bytesOfFiles(data)) == repaired.records.last?.end)
            #expect(rows.last?.bytes == Int64(bytesOfFiles(data, index)))

            // Opening again changes nothing.
            let again = try RecordingStore(folder: crashed, logger: quietLogger)
            #expect(try catalogRows(of: again).map(\.frames) == rows.map(\.frames))
            #expect(labelsOfAllFrames(of: again.history(camera: "door")) == expected.map(\.label))

            // And the store records on after the repair: new segments go beside the recovered ones.
            let more = testFrames(5, from: frames.last!.micros + 100_000, spacing: .milliseconds(100), firstIndex: 40)
            try await record(more, in: crashed, store: again)
            #expect(labelsOfAllFrames(of: again.history(camera: "door")) == (expected + more).map(\.label))
            #expect(Set(try catalogRows(of: again).map(\.path)).count == 5)
        }
    }

    /// A long camera name: the index header keeps only its first 40 bytes, but the catalog needs all of it.
    static let longCamera = "camera-with-a-name-much-longer-than-forty-bytes"

    @Test(arguments: ["missing", "garbage"])
    func aLostCatalogIsRebuiltFromTheFiles(_ damage: String) async throws {
        try await withTemporaryFolder { folder in
            let configuration = FrameRecorder.Configuration(segmentDuration: .seconds(1))
            let frames = testFrames(35, from: fixedStart, spacing: .milliseconds(100))
            let other = testFrames(12, from: fixedStart + 50_000, spacing: .milliseconds(100), firstIndex: 100)
            // The first store is gone before its catalog is: its connection would remove the new catalog's WAL.
            let before = try await {
                let store = try RecordingStore(folder: folder, logger: quietLogger)
                try await record(frames, in: folder, configuration: configuration, store: store)
                try await record(other, in: folder, camera: Self.longCamera, configuration: configuration, store: store)
                return try catalogRows(of: store)
            }()
            #expect(before.count == 6)

            let catalog = "\(folder)/catalog.sqlite"
            for suffix in ["", "-wal", "-shm"] { unlink(catalog + suffix) }
            if damage == "garbage" {
                try Data((0..<5000).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: catalog))
            }

            let rebuilt = try RecordingStore(folder: folder, logger: quietLogger)
            let after = try catalogRows(of: rebuilt)
            func withoutID(_ rows: [CatalogSegment]) -> [CatalogSegment] {
                rows.map { row in
                    var row = row
                    row.id = nil
                    return row
                }
            }
            #expect(withoutID(after) == withoutID(before))
            #expect(labelsOfAllFrames(of: rebuilt.history(camera: "door")) == frames.map(\.label))
            #expect(labelsOfAllFrames(of: rebuilt.history(camera: Self.longCamera)) == other.map(\.label))
            #expect(rebuilt.spans(camera: Self.longCamera, overlapping: .min ... .max).map(\.frames) == [12])

            let aside = try FileManager.default.contentsOfDirectory(atPath: folder)
                .filter { $0.hasPrefix("catalog.sqlite.broken-") }
            if damage == "garbage" {
                // Put aside as it was, for whoever wants to look at it.
                #expect(aside.count == 1)
                #expect(
                    try aside.first.map { try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\($0)")).count } == 5000
                )
            } else {
                #expect(aside.isEmpty)
            }
        }
    }

    // MARK: Write errors

    @Test func aWriteErrorIsReportedAndRecordingResumes() async throws {
        try await withTemporaryFolder { folder in
            // A file where the camera's folder goes: creating the day folder fails (ENOTDIR), also for root.
            let blocker = "\(folder)/door"
            #expect(FileManager.default.createFile(atPath: blocker, contents: Data("in the way".utf8)))
            let configuration = FrameRecorder.Configuration(retryInterval: .milliseconds(200))
            try await withRecording(folder: folder, configuration: configuration) { rig in
                let viewer = rig.broadcaster.subscribe()
                var live = viewer.makeAsyncIterator()
                var index = 0
                func sendNext() {
                    rig.camera.send(
                        TestFrame(index, micros: fixedStart + Int64(index) * 50_000).image
                    )
                    index += 1
                }

                sendNext()
                try await waitUntil("the error is reported") { rig.recorder.status.lastError != nil }
                var status = rig.recorder.status
                #expect(!status.recording)
                #expect(status.framesWritten == 0 && status.framesDropped == 1)
                let error = try #require(status.lastError)
                #expect(error.contains(blocker), "\(error)")
                #expect(error.contains("a file is in the way"), "\(error)")
                #expect(status.lastErrorTime != nil)

                // Frames keep coming, and viewers get them; the recorder drops them until it can write.
                for _ in 0..<5 { sendNext() }
                try await waitUntil("frames dropped") { rig.recorder.status.framesDropped >= 6 }
                #expect(rig.broadcaster.status.framesProduced == 6)
                #expect(await live.next()?.sequence == 6)
                #expect(rig.recorder.status.framesWritten == 0)
                #expect(segmentFiles(in: folder).isEmpty)

                // The way cleared, the next frame after the retry interval is written.
                #expect(unlink(blocker) == 0)
                let dropped = rig.recorder.status.framesDropped
                try await waitUntil("recording resumes") {
                    sendNext()
                    return rig.recorder.status.framesWritten >= 3
                }
                status = rig.recorder.status
                #expect(status.recording)
                #expect(status.framesDropped >= dropped)
                #expect(status.lastError == error)
                #expect(await live.next() != nil)
                let written = labelsOfAllFrames(of: rig.store.history(camera: "door"))
                #expect(written.count >= 3)
                #expect(written.last?.micros == status.lastWrittenMicros)
                #expect(written.allSatisfy { $0.number.map { fixedStart + Int64($0) * 50_000 } == $0.micros })
            }
            let reopened = try RecordingStore(folder: folder, logger: quietLogger)
            #expect(labelsOfAllFrames(of: reopened.history(camera: "door")).count >= 3)
        }
    }

    /// The sizes of files added up.
    func bytesOfFiles(_ paths: String...) -> Int {
        paths.reduce(0) { total, path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}
