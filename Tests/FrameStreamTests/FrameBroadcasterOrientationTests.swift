import FrameStreamTesting
import Synchronization
import Testing

@testable import FrameStream

/// The broadcaster turns each frame once, as it arrives, so that every viewer, snapshot and observer gets the same
/// turned frame.
@Suite(.timeLimit(.minutes(1)))
struct FrameBroadcasterOrientationTests {
    @Test func everyViewerObserverAndSnapshotGetsTheFrameTurnedOnce() async throws {
        let camera = ManualCamera()
        let orientation = FrameOrientation(rotation: .clockwise90, flip: .horizontal)
        let (jpeg, _) = try JPEGTransformerTests.cameraJPEG(width: 160, height: 96)
        let expected = try JPEGTransformer(orientation: orientation).transform(jpeg)
        try await withRunningBroadcaster(of: camera, clock: ManualClock(), orientation: orientation) { broadcaster in
            let observed = Mutex<[[UInt8]]>([])
            let observation = broadcaster.observeFrames { frame in observed.withLock { $0.append(frame.jpeg) } }
            var first = broadcaster.subscribe().makeAsyncIterator()
            var second = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(JPEGImage(bytes: jpeg))
            let a = try #require(await first.next())
            let b = try #require(await second.next())
            #expect(a.jpeg == expected)
            #expect(b.jpeg == expected)
            let snapshot = try await broadcaster.snapshot()
            #expect(snapshot.jpeg == expected)
            #expect(observed.withLock { $0 } == [expected])
            let decoded = try DecodedJPEG(a.jpeg)
            #expect(decoded.width == 96 && decoded.height == 160)
            observation.cancel()
        }
    }

    @Test func aFrameThatCannotBeTurnedIsDroppedAndTheNextOneComes() async throws {
        let camera = ManualCamera()
        let orientation = FrameOrientation(rotation: .clockwise180)
        let (jpeg, _) = try JPEGTransformerTests.cameraJPEG(width: 64, height: 48)
        try await withRunningBroadcaster(of: camera, clock: ManualClock(), orientation: orientation) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(testImage(1))
            camera.send(JPEGImage(bytes: jpeg))
            let frame = try #require(await frames.next())
            #expect(frame.sequence == 1)
            let expected = try JPEGTransformer(orientation: orientation).transform(jpeg)
            #expect(frame.jpeg == expected)
            #expect(broadcaster.status.framesProduced == 1)
        }
    }

    @Test func uprightFramesPassThroughAsTheyCame() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(testImage(9))
            let frame = try #require(await frames.next())
            #expect(frame.jpeg == testImage(9).bytes)
        }
    }
}
