import Foundation
import FrameStream
import FrameStreamTesting
import Hummingbird
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
        // Whichever of the two starts second fails at once; the other runs until it is cancelled.
        let error = await withThrowingTaskGroup(of: Void.self) { group -> (any Error)? in
            group.addTask { try await endpoints.run() }
            group.addTask { try await endpoints.run() }
            defer { group.cancelAll() }
            do {
                try await group.next()
                return nil
            } catch {
                return error
            }
        }
        #expect(error as? MJPEGEndpointsError == .alreadyRunning)
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

/// Holds requests in a middleware until the test opens the gate: a route that is still deciding when something
/// else happens (a shutdown, a half-close).
final class Gate: Sendable {
    private let (opened, open) = AsyncStream.makeStream(of: Void.self)
    private let (arrivals, arrival) = AsyncStream.makeStream(of: Void.self)

    func openNow() { open.finish() }

    /// Holds the caller until the gate opens.
    func wait() async {
        arrival.yield()
        for await _ in opened {}
    }

    /// Returns once a request is being held at the gate.
    func waitForArrival() async {
        for await _ in arrivals { return }
    }
}

struct GateMiddleware<Context: RequestContext>: RouterMiddleware {
    let gate: Gate

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        await gate.wait()
        return try await next(request, context)
    }
}

/// Streams that end while their route is still deciding, or while their viewer reads nothing.
@Suite(.timeLimit(.minutes(1)))
struct StreamEndTests {
    @Test func aGracefulShutdownIsNotHeldUpByAViewerThatReadsNothing() async throws {
        // A stall timeout far longer than the test: only the shutdown itself may end the stalled stream.
        try await LiveServer.run(stalledClientTimeout: .seconds(3600)) { server in
            let stalled = try RawConnection.viewer(port: server.port)
            #expect(try await stalled.readHead().hasPrefix("HTTP/1.1 200"))
            await server.camera.waitForStarts(1)
            for marker in UInt8(1)...20 {
                server.camera.send(testImage(marker))
                await Task.yield()
            }
            // The server stops, and then the camera service, while the viewer is still connected and reads nothing.
            await server.shutDown()
            await server.camera.waitForStops(1)
            withExtendedLifetime(stalled) {}
        }
    }

    @Test func aStreamAcceptedDuringAShutdownEndsAtOnce() async throws {
        try await Self.withGatedStream("") { server, gate, connection in
            await gate.waitForArrival()  // the request is held by the middleware
            await server.shutDown()
            try await Task.sleep(for: .milliseconds(100))  // the shutdown reaches the connection
            gate.openNow()
        }
    }

    @Test func aHalfCloseWhileTheRouteDecidesEndsTheStream() async throws {
        // With a request pipelined after it, which waits (and is dropped), and the half-close behind that one.
        try await Self.withGatedStream("GET /status HTTP/1.1\r\nHost: x\r\n\r\n") { server, gate, connection in
            await gate.waitForArrival()
            connection.closeForWriting()
            try await Task.sleep(for: .milliseconds(100))  // the half-close reaches the server
            gate.openNow()
        }
    }

    /// Sends a stream request (and `after` in the same packet) that a middleware holds until `whileHeld` opens the
    /// gate; then expects the stream's head and, at once, its end.
    static func withGatedStream(
        _ after: String,
        whileHeld: @escaping @Sendable (LiveServer, Gate, RawConnection) async throws -> Void
    ) async throws {
        let gate = Gate()
        try await LiveServer.run { router, endpoints in
            router.group("cam").add(middleware: GateMiddleware(gate: gate)).addRoutes(endpoints[0].routes())
        } _: { (server: LiveServer) async throws in
            let connection = try RawConnection(port: server.port)
            connection.send("GET /cam/stream HTTP/1.1\r\nHost: x\r\n\r\n" + after)
            try await whileHeld(server, gate, connection)
            let answer = String(decoding: try await connection.readUntilClosed(), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.hasSuffix("0\r\n\r\n"))
            // The viewer lets go of the camera (the hub notices on its own task, a moment later).
            while server.broadcaster.status.subscribers > 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func aMiddlewareThatEncodesTheBodyGetsTheStreamThroughTheBody() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(logger: logger) { router, endpoints in
            router.add(middleware: IdentityEncoding()).addRoutes(endpoints[0].routes())
        } _: { (server: LiveServer) async throws in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 300))
            #expect(try await viewer.nextPart()?.sequence == 1)
            #expect(fastPathViewers(log).isEmpty)
        }
    }
}
