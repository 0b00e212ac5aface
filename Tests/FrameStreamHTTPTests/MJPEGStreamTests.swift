import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import InMemoryLogging
import Logging
import Testing

@Suite(.timeLimit(.minutes(1)))
struct MJPEGStreamTests {
    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func streamPartsCarryTheFrameWithItsHeadersAndNoDuplicates(connectionHandlers: Bool) async throws {
        try await LiveServer.run(connectionHandlers: connectionHandlers) { server in
            var viewer = try await server.openStream()
            #expect(viewer.status == 200)
            #expect(viewer.contentType == "multipart/x-mixed-replace; boundary=frame")
            await server.camera.waitForStarts(1)
            var sequences: [UInt64] = []
            for marker in UInt8(1)...10 {
                let image = testImage(marker)
                server.camera.send(image)
                let part = try #require(try await viewer.nextPart())
                #expect(part.headers["content-type"] == "image/jpeg")
                #expect(part.headers["content-length"] == "\(image.bytes.count)")
                #expect(part.body == image.bytes)
                let timestamp = try #require(part.headers["x-timestamp"].flatMap(Double.init))
                #expect(abs(timestamp - image.captureTime.timeIntervalSince1970) < 0.000_001)
                sequences.append(try #require(part.sequence))
            }
            #expect(sequences == Array(1...10))
        }
    }

    @Test(arguments: ["/video_feed", "/stream", "/?action=stream"])
    func everyStreamPathServesTheStream(_ path: String) async throws {
        try await LiveServer.run { server in
            var viewer = try await server.openStream(path)
            #expect(viewer.status == 200)
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 100))
            #expect(try await viewer.nextPart()?.sequence == 1)
        }
    }

    @Test func viewersWithDifferentRatesGetTheirRatesOfFreshFrames() async throws {
        try await LiveServer.run { server in
            var full = try await server.openStream()
            let capped = try await server.openStream("/video_feed?fps=1")
            await server.camera.waitForStarts(1)
            var cappedSequences: [UInt64] = []
            let reader = Task { [capped] in
                var capped = capped
                var sequences: [UInt64] = []
                while let part = try await capped.nextPart() {
                    sequences.append(part.sequence ?? 0)
                    if sequences.count == 3 { break }
                }
                return sequences
            }
            // A 10 fps camera for 2.5 s of test time: frames 1 to 25.
            for marker in UInt8(1)...25 {
                server.camera.send(testImage(marker, size: 1000))
                #expect(try await full.nextPart()?.sequence == UInt64(marker))
                server.clock.advance(by: .milliseconds(100))
            }
            cappedSequences = try await reader.value
            _ = capped
            // One frame at once, then one per second of test time, each the newest when its time came.
            #expect(cappedSequences.count == 3)
            #expect(cappedSequences.first == 1)
            for (earlier, later) in zip(cappedSequences, cappedSequences.dropFirst()) {
                #expect((9...11).contains(later - earlier), "frames \(earlier) and \(later) are not 1 s apart")
            }
        }
    }

    /// The fast path, and the router path (the response body writes the stream, the connection handler guards it).
    @Test(arguments: [false, true])
    func aViewerThatStopsReadingDoesNotSlowOthersAndResumesWithoutABacklog(routerPath: Bool) async throws {
        try await LiveServer.run { router, endpoints in
            (routerPath ? router.add(middleware: IdentityEncoding()) : router).addRoutes(endpoints[0].routes())
        } _: { (server: LiveServer) async throws in
            var reading = try await server.openStream()
            let stalled = try RawConnection.viewer(port: server.port)
            await server.camera.waitForStarts(1)
            #expect(try await stalled.readHead().hasPrefix("HTTP/1.1 200"))
            // 60 frames of 45 KB (2.7 MB) while the stalled viewer reads nothing: the reading viewer gets each one.
            for marker in UInt8(1)...60 {
                server.camera.send(testImage(marker))
                #expect(try await reading.nextPart()?.sequence == UInt64(marker))
            }
            // What was queued for the stalled viewer is a few frames, not the 2.7 MB it missed; then the newest.
            var queued: [UInt64] = []
            repeat {
                queued.append(try #require(try await stalled.nextPart().sequence))
            } while queued.last != 60 && queued.count < 10
            #expect(queued.count <= 4, "the stalled viewer got a backlog: \(queued)")
            #expect(queued.last == 60)
            #expect(queued == queued.sorted() && Set(queued).count == queued.count)
            server.camera.send(testImage(61))
            #expect(try await stalled.nextPart().sequence == 61)
            #expect(try await reading.nextPart()?.sequence == 61)
        }
    }

    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func disconnectEndsTheSubscriptionAndTheIdleTimerStopsAndRestartsTheCamera(connectionHandlers: Bool) async throws {
        try await LiveServer.run(idleTimeout: .seconds(10), connectionHandlers: connectionHandlers) { server in
            do {
                let viewer = try RawConnection.viewer(port: server.port)
                await server.camera.waitForStarts(1)
                server.camera.send(testImage(1, size: 100))
                #expect(try await viewer.nextPart().sequence == 1)
                viewer.close()
            }
            // The idle timer sleeps only once the last subscriber is gone.
            await server.clock.waitForSleepers(1)
            #expect(server.broadcaster.status.subscribers == 0)
            server.clock.advance(by: .seconds(10))
            await server.camera.waitForStops(1)

            var viewer = try await server.openStream()
            await server.camera.waitForStarts(2)
            server.camera.send(testImage(2, size: 100))
            let part = try #require(try await viewer.nextPart())
            #expect(part.sequence == 2)
            #expect(part.body[2] == 2)
        }
    }

    /// The fast path, and the router path.
    @Test(arguments: [false, true])
    func aViewerThatAcceptsNothingForTheStallTimeoutIsDroppedAndThatIsLogged(routerPath: Bool) async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(stalledClientTimeout: .milliseconds(300), logger: logger) { router, endpoints in
            (routerPath ? router.add(middleware: IdentityEncoding()) : router).addRoutes(endpoints[0].routes())
        } _: { (server: LiveServer) async throws in
            let stalled = try RawConnection.viewer(port: server.port)
            await server.camera.waitForStarts(1)
            // Enough frames to fill what the connection can hold while the viewer reads nothing.
            for marker in UInt8(1)...8 {
                server.camera.send(testImage(marker))
                await Task.yield()
            }
            // Dropping the viewer ends its subscription: the idle timer then starts on the test clock.
            await server.clock.waitForSleepers(1)
            #expect(server.broadcaster.status.subscribers == 0)
            let dropped = log.entries.filter {
                $0.level == .info && $0.message.description.contains("dropped: it accepted no data for 0.3 s")
            }
            #expect(dropped.count == 1, "\(log.entries.map(\.message.description))")
            withExtendedLifetime(stalled) {}
        }
    }

    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func viewersStayConnectedWhileTheCameraRestartsAfterAFailure(connectionHandlers: Bool) async throws {
        struct Unplugged: Error {}
        try await LiveServer.run(connectionHandlers: connectionHandlers) { server in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 100))
            #expect(try await viewer.nextPart()?.sequence == 1)
            server.camera.fail(Unplugged())
            await server.clock.waitForSleepers(1)  // the restart backoff
            server.clock.advance(by: .seconds(1))
            await server.camera.waitForStarts(2)
            server.camera.send(testImage(2, size: 100))
            let part = try #require(try await viewer.nextPart())
            #expect(part.sequence == 2)
            #expect(part.body[2] == 2)
        }
    }

    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func heartbeatResendsTheLastFrameWhenTheCameraSendsNothing(connectionHandlers: Bool) async throws {
        try await LiveServer.run(heartbeatInterval: .seconds(5), connectionHandlers: connectionHandlers) { server in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            await server.clock.waitForSleepers(1)  // the heartbeat ticker
            server.camera.send(testImage(1, size: 100))
            let first = try #require(try await viewer.nextPart())
            server.clock.advance(by: .seconds(5))  // frame 1 came in this interval: no heartbeat
            await server.clock.waitForSleepers(1)
            server.clock.advance(by: .seconds(5))  // nothing new in this one: frame 1 again
            let again = try #require(try await viewer.nextPart())
            #expect(again == first)
            server.camera.send(testImage(2, size: 100))
            #expect(try await viewer.nextPart()?.sequence == 2)
        }
    }

    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func viewersOverTheLimitGet503AndTheOthersKeepStreaming(connectionHandlers: Bool) async throws {
        try await LiveServer.run(endpoints: .init(maxClients: 1), connectionHandlers: connectionHandlers) { server in
            var first = try await server.openStream()
            await server.camera.waitForStarts(1)
            let refused = try await server.get("/video_feed")
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] == "5")
            #expect(String(decoding: refused.body, as: UTF8.self) == "too many viewers (1): try again later\n")
            server.camera.send(testImage(1, size: 100))
            #expect(try await first.nextPart()?.sequence == 1)
        }
    }

    @Test(arguments: ["fps=abc", "fps=0", "fps=-2", "fps=1e9", "fps=nan", "fps="])
    func malformedRateGets400WithTheReason(_ query: String) async throws {
        try await LiveServer.run { server in
            let response = try await server.get("/video_feed?\(query)")
            #expect(response.status == 400)
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(text.hasPrefix("invalid fps"))
            #expect(text.filter { $0 == "\n" }.count == 1)
            #expect(server.camera.starts == 0)
        }
    }

    @Test func unknownActionGets400() async throws {
        try await LiveServer.run { server in
            let response = try await server.get("/?action=record")
            #expect(response.status == 400)
            #expect(String(decoding: response.body, as: UTF8.self).contains("action=stream"))
        }
    }

    /// Both paths: the NIO fast path (connection handlers) and the router's task per viewer.
    @Test(arguments: [true, false])
    func gracefulShutdownEndsOpenStreamsAndReleasesTheCamera(connectionHandlers: Bool) async throws {
        try await LiveServer.run(connectionHandlers: connectionHandlers) { server in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 100))
            #expect(try await viewer.nextPart()?.sequence == 1)
            await server.shutDown()
            // The stream ends cleanly (no error), and the camera is released.
            #expect(try await viewer.nextPart() == nil)
            await server.camera.waitForStops(1)
        }
    }
}
