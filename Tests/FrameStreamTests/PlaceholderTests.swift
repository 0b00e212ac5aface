import FrameStreamTesting
import Synchronization
import Testing

@testable import FrameStream

/// Placeholder frames: what a waiting viewer sees while the camera has no picture, and what it never reaches.
@Suite(.timeLimit(.minutes(1)))
struct PlaceholderTests {
    struct Unplugged: Error, CustomStringConvertible {
        var description: String { "camera /dev/video0 was unplugged (rtsp://admin:secret@cam/)" }
    }

    /// A real JPEG of `size`, so that a placeholder after it takes its size.
    static func picture(width: Int, height: Int) throws -> JPEGImage {
        let encoder = try JPEGEncoder(width: width, height: height)
        let planes = [UInt8](repeating: 128, count: width * height * 3 / 2)
        return JPEGImage(bytes: try planes.withUnsafeBytes { try encoder.encodeI420($0, bytesPerLine: width) })
    }

    /// The next event that is a placeholder (heartbeats are off; a frame fails the test).
    static func nextPlaceholder(
        _ events: inout FrameSubscription.Iterator,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> PlaceholderFrame {
        let event = try #require(await events.nextEvent(), sourceLocation: sourceLocation)
        guard case .placeholder(let placeholder) = event else {
            Issue.record("expected a placeholder, got \(event)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return placeholder
    }

    /// Text drawn: some pixels much brighter than the canvas.
    static func hasText(_ jpeg: [UInt8]) throws -> Bool {
        let decoded = try DecodedJPEG(jpeg)
        return decoded.gray.filter { $0 > 150 }.count > 500 && decoded.gray.filter { $0 < 60 }.count > 10_000
    }

    @Test func startingThenRetryingThenFramesThenNoSignal() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        let settings = FrameBroadcaster.Placeholders(noSignalAfter: .seconds(5), cameraLabel: "/dev/video0")
        try await withRunningBroadcaster(of: camera, clock: clock, placeholders: settings) { broadcaster in
            var events = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            // Starting: the first placeholder comes after a second, at the configured size.
            await clock.waitForSleepers(1)
            #expect(broadcaster.currentPlaceholder == nil)
            clock.advance(by: .seconds(1))
            let starting = try await Self.nextPlaceholder(&events)
            #expect(starting.reason == .starting)
            #expect(starting.text.first == "CAMERA STARTING\u{2026}")
            #expect(starting.text.contains("/dev/video0"))
            let decoded = try DecodedJPEG(starting.jpeg)
            #expect(decoded.width == 640 && decoded.height == 480)
            #expect(try Self.hasText(starting.jpeg))

            // The camera fails: the picture says so, with the error, its password hidden.
            camera.fail(Unplugged())
            await clock.waitForSleepers(2)  // the placeholders' timer and the restart backoff
            clock.advance(by: .seconds(1))
            let retrying = try await Self.nextPlaceholder(&events)
            #expect(retrying.reason == .retrying)
            #expect(retrying.text[0] == "NO SIGNAL \u{2014} /dev/video0")
            let said = retrying.text.joined(separator: " ")
            #expect(said.contains("camera /dev/video0 was unplugged"))
            #expect(said.contains("admin:***@") && !said.contains("secret"))
            #expect(try Self.hasText(retrying.jpeg))
            // Each placeholder once: the next one comes only after the next tick.
            await camera.waitForStarts(2)
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(1))
            // Restarted, but still no frame: still a retry, not a fresh start.
            #expect(try await Self.nextPlaceholder(&events).reason == .retrying)

            // Frames return: they come, and the placeholder is gone.
            camera.send(try Self.picture(width: 320, height: 240))
            guard case .frame(let frame) = try #require(await events.nextEvent()) else {
                Issue.record("expected the frame")
                return
            }
            #expect(frame.sequence == 1)
            #expect(broadcaster.currentPlaceholder == nil)
            #expect(broadcaster.status.framesProduced == 1)

            // Nothing new for the no-signal time: "no signal", at the stream's size.
            var noSignal: PlaceholderFrame?
            for _ in 0..<5 {
                await clock.waitForSleepers(1)
                clock.advance(by: .seconds(1))
            }
            noSignal = try await Self.nextPlaceholder(&events)
            #expect(noSignal?.reason == .noSignal)
            let small = try DecodedJPEG(try #require(noSignal).jpeg)
            #expect(small.width == 320 && small.height == 240)
            // Placeholders are no frames: none counted, and the plain iterator never sees them.
            #expect(broadcaster.status.framesProduced == 1)
            #expect(broadcaster.status.lastFrameSequence == 1)
        }
    }

    @Test func framesOnlySubscribersAndObserversNeverSeeAPlaceholder() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, placeholders: .init()) { broadcaster in
            let observed = ObservedFrames()
            let observation = broadcaster.observeFrames { observed.append($0.sequence) }
            let frames = Task {
                var iterator = broadcaster.subscribe().makeAsyncIterator()
                return await iterator.next()?.sequence
            }
            await camera.waitForStarts(1)
            for _ in 0..<3 {
                await clock.waitForSleepers(1)
                clock.advance(by: .seconds(1))
            }
            try await waitUntil { broadcaster.currentPlaceholder != nil }
            #expect(observed.sequences.isEmpty)
            camera.send(testImage(1))
            #expect(await frames.value == 1)
            #expect(observed.sequences == [1])
            observation.cancel()
        }
    }

    @Test func aCustomImageIsShownAsItIs() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        let image = try Self.picture(width: 200, height: 100).bytes
        try await withRunningBroadcaster(of: camera, clock: clock, placeholders: .init(image: image)) { broadcaster in
            var events = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(1))
            let placeholder = try await Self.nextPlaceholder(&events)
            #expect(placeholder.jpeg == image)
            #expect(placeholder.text.isEmpty)
        }
    }

    @Test func longLinesAreWrappedAtSpaces() {
        #expect(
            PlaceholderPicture.wrap("camera /dev/video0 was unplugged", columns: 12) == [
                "camera", "/dev/video0", "was", "unplugged",
            ]
        )
        #expect(PlaceholderPicture.wrap("abcdefghij", columns: 4) == ["abcd", "efgh", "ij"])
        #expect(PlaceholderPicture.wrap("", columns: 4) == [""])
    }
}

/// Frames an observer was called with.
private final class ObservedFrames: Sendable {
    private let state = Mutex<[UInt64]>([])
    var sequences: [UInt64] { state.withLock { $0 } }
    func append(_ sequence: UInt64) { state.withLock { $0.append(sequence) } }
}

/// Polls until `condition` holds (at most 5 s).
private func waitUntil(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("not within 5 s", sourceLocation: sourceLocation)
}
