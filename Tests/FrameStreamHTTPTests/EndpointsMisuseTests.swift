import Foundation
import FrameStream
import FrameStreamTesting
import InMemoryLogging
import Logging
import Testing

@testable import FrameStreamHTTP

/// Endpoints used the wrong way fail loudly, or keep working and say so, never silently.
@Suite(.timeLimit(.minutes(1)))
struct EndpointsMisuseTests {
    @Test func endpointsNotRunAsAServiceStillStreamAndWarnOnce() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(runsEndpoints: false, logger: logger) { server in
            var first = try await server.openStream()
            var second = try await server.openStream("/stream")
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 500))
            #expect(try await first.nextPart()?.sequence == 1)
            #expect(try await second.nextPart()?.sequence == 1)
            let warnings = log.entries.filter { $0.level == .warning }
            #expect(warnings.count == 1)
            #expect(warnings.first?.message.description.contains("not running as a service") == true)
            #expect(fastPathViewers(log).isEmpty)
        }
    }

    @Test func runningTheEndpointsTwiceIsAnError() async throws {
        let broadcaster = FrameBroadcaster(source: ManualCamera(), logger: quietLogger)
        let endpoints = MJPEGEndpoints(broadcaster: broadcaster, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoints.run() }
            // The second run fails at once, whichever of the two starts first.
            let error = await #expect(throws: MJPEGEndpointsError.self) {
                try await Task.sleep(for: .milliseconds(1))
                try await endpoints.run()
            }
            #expect(error == .alreadyRunning)
            group.cancelAll()
        }
    }

    @Test func whenTheBroadcasterShutsDownStreamsEndCleanlyAndTheEndpointsStop() async throws {
        try await LiveServer.run(runsBroadcasters: false, runsEndpoints: false) { server in
            let camera = Task { try await server.broadcaster.run() }
            let endpoints = Task { try await server.endpoints.run() }
            while !server.endpoints.isRunning { try await Task.sleep(for: .milliseconds(1)) }
            var fast = try await server.openStream()
            var capped = try await server.openStream("/video_feed?fps=100")
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 500))
            #expect(try await fast.nextPart()?.sequence == 1)
            #expect(try await capped.nextPart()?.sequence == 1)

            // The camera service stops for good while the HTTP server goes on.
            camera.cancel()
            try await camera.value
            // (The capped viewer waits out its interval before it asks for the next frame.)
            server.clock.advance(by: .seconds(1))
            // Open streams end cleanly, and the endpoints stop instead of subscribing again and again.
            #expect(try await fast.nextPart() == nil)
            #expect(try await capped.nextPart() == nil)
            try await endpoints.value
            let refused = try await server.get("/video_feed")
            #expect(refused.status == 503)
            #expect(String(decoding: refused.body, as: UTF8.self) == "the camera service has shut down\n")
        }
    }

    @Test func aNewViewerIsNotShownAPictureFromBeforeTheCameraFailed() async throws {
        struct Unplugged: Error {}
        try await LiveServer.run { server in
            var first = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 500))
            #expect(try await first.nextPart()?.sequence == 1)
            server.camera.fail(Unplugged())
            await server.clock.waitForSleepers(1)  // the restart backoff: the camera is retrying
            #expect(server.broadcaster.status.phase == .retrying)
            var late = try await server.openStream()
            server.clock.advance(by: .seconds(1))
            await server.camera.waitForStarts(2)
            server.camera.send(testImage(2, size: 500))
            // Frame 1 is from before the failure: the new viewer's first picture is frame 2.
            #expect(try await late.nextPart()?.sequence == 2)
            #expect(try await first.nextPart()?.sequence == 2)
        }
    }
}
