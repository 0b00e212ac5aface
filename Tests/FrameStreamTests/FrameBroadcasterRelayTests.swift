import FrameStreamTesting
import Testing

@testable import FrameStream

/// Frames relayed from another server keep the numbers the origin gave them.
@Suite(.timeLimit(.minutes(1)))
struct FrameBroadcasterRelayTests {
    static func relayed(_ marker: UInt8, number: UInt64?) -> JPEGImage {
        JPEGImage(bytes: [0xFF, 0xD8, marker, 0xFF, 0xD9], sourceSequence: number)
    }

    @Test func relayedFramesKeepTheOriginsNumbersAndTheSameFrameIsNotPublishedTwice() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(Self.relayed(1, number: 100))
            let first = try #require(await frames.next())
            #expect(first.sequence == 100)
            // The origin's frame 100 again (after a reconnection), then its next one: only the next one comes.
            camera.send(Self.relayed(2, number: 100))
            camera.send(Self.relayed(3, number: 103))
            let next = try #require(await frames.next())
            #expect(next.sequence == 103)
            #expect(next.jpeg[2] == 3)
            // A restarted origin counts from 1 again: its frames go on from the last number here, never back.
            camera.send(Self.relayed(4, number: 1))
            let restarted = try #require(await frames.next())
            #expect(restarted.sequence == 104)
            camera.send(Self.relayed(5, number: nil))
            let unnumbered = try #require(await frames.next())
            #expect(unnumbered.sequence == 105)
            #expect(broadcaster.status.lastFrameSequence == 105)
        }
    }
}
