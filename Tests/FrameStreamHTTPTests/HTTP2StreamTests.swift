import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import NIOHTTP1
import Testing

/// The same routes and the same fast path on Hummingbird's HTTP/2 stream channels (h2c with prior knowledge).
@Suite(.timeLimit(.minutes(1)))
struct HTTP2StreamTests {
    @Test(arguments: ["/video_feed", "/video_feed?fps=30"])
    func streamsOverHTTP2(_ path: String) async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(http2: true, logger: logger) { server in
            var viewer = try await HTTP2Viewer.open(port: server.port, path: path)
            #expect(viewer.status == 200)
            #expect(viewer.headers["content-type"].first == "multipart/x-mixed-replace; boundary=frame")
            await server.camera.waitForStarts(1)
            for marker in UInt8(1)...5 {
                server.camera.send(testImage(marker, size: 20_000))
                server.clock.advance(by: .seconds(1))
                let part = try #require(try await viewer.nextPart())
                #expect(part.sequence == UInt64(marker))
                #expect(part.body == testImage(marker, size: 20_000).bytes)
            }
            #expect(fastPathViewers(log) == (path.contains("fps") ? [] : ["manual"]))
            await viewer.close()
        }
    }

    @Test func aSlowHTTP2ViewerStaysAboutOneFrameBehind() async throws {
        try await LiveServer.run(http2: true) { server in
            var reading = try await HTTP2Viewer.open(port: server.port)
            var stalled = try await HTTP2Viewer.open(port: server.port)
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1))
            #expect(try await reading.nextPart()?.sequence == 1)
            #expect(try await stalled.nextPart()?.sequence == 1)
            try await stalled.setReading(false)
            // 60 frames of 45 KB (2.7 MB) while the stalled viewer reads nothing: the reading viewer gets each one.
            for marker in UInt8(2)...61 {
                server.camera.send(testImage(marker))
                #expect(try await reading.nextPart()?.sequence == UInt64(marker))
            }
            try await stalled.setReading(true)
            // What was queued for the stalled viewer is a few frames, not the 2.7 MB it missed; then the newest.
            let queued = try await stalled.sequences(until: 61, atMost: 10)
            #expect(queued.count <= 4, "the stalled HTTP/2 viewer got a backlog: \(queued)")
            #expect(queued.last == 61)
            server.camera.send(testImage(62))
            #expect(try await stalled.nextPart()?.sequence == 62)
            await reading.close()
            await stalled.close()
        }
    }
}
