import AsyncHTTPClient
import Foundation
import FrameStream
import FrameStreamTesting
import HTTPTypes
import Hummingbird
import InMemoryLogging
import NIOCore
import Testing

@testable import FrameStreamHTTP

/// Upstreams that answer but never give a valid frame fail visibly, and are reconnected.
@Suite(.timeLimit(.minutes(1)))
struct HTTPCameraStallTests {
    /// A route that sends `part` over and over (at most `count` times) in a multipart stream, `pause` apart (or as
    /// fast as the connection takes them), telling `written` of each part.
    static func repeating(
        _ part: [UInt8],
        count: Int = 2000,
        pause: Duration? = .milliseconds(5),
        written: AsyncStream<Void>.Continuation? = nil
    ) -> @Sendable (Request, BasicRequestContext) -> Response {
        { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "multipart/x-mixed-replace; boundary=frame"],
                body: ResponseBody { writer in
                    for _ in 0..<count {
                        try await writer.write(ByteBuffer(bytes: part))
                        written?.yield()
                        if let pause { try await Task.sleep(for: pause) }
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// What the next frame's wait throws.
    static func failure(of iterator: HTTPCamera.Frames.Iterator) async -> (any Error)? {
        var iterator = iterator
        do {
            _ = try await iterator.next()
            return nil
        } catch {
            return error
        }
    }

    static var truncatedPart: [UInt8] {
        let jpeg = HTTPCameraTests.fixtures[0]
        return Array("--frame\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg[..<(jpeg.count / 2)]
            + Array("\r\n".utf8)
    }

    @Test func truncatedJPEGsFailAfterTheStallTimeAndTheCameraReconnects() async throws {
        try await UpstreamServer.run { router in
            router.get("/cam", use: Self.repeating(Self.truncatedPart))
        } _: { baseURL in
            let clock = ManualClock()
            let camera = try HTTPCamera(
                configuration: .init(url: baseURL + "/cam", stallTimeout: .milliseconds(300)),
                clock: clock
            )
            let (logger, log) = recordingLogger()
            let broadcaster = FrameBroadcaster(
                source: camera,
                driverName: "http",
                configuration: .init(
                    restartBackoff: .init(initial: .seconds(1)),
                    heartbeatInterval: nil,
                    placeholders: .off
                ),
                clock: clock,
                logger: logger
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await broadcaster.run() }
                let subscription = broadcaster.subscribe()
                // The camera's stall timer.
                await clock.waitForSleepers(1)
                clock.advance(by: .milliseconds(300))
                // Now the broadcaster's restart backoff.
                await clock.waitForSleepers(1)
                let status = broadcaster.status
                #expect(status.phase == .retrying)
                let lastError = try #require(status.lastError)
                #expect(lastError.contains("0.3 s"), "\(lastError)")
                #expect(lastError.contains(baseURL + "/cam"))
                #expect(
                    log.entries.contains {
                        "\($0.message)".contains("camera failed") && "\($0.message)".contains("0.3 s")
                    }
                )

                clock.advance(by: .seconds(1))
                // Reconnected: a new connection's stall timer, which fails the same way.
                await clock.waitForSleepers(1)
                #expect(broadcaster.status.restarts == 1)
                clock.advance(by: .milliseconds(300))
                await clock.waitForSleepers(1)
                #expect(broadcaster.status.phase == .retrying)
                #expect(broadcaster.status.lastError?.contains("0.3 s") == true)
                // (The second failure is logged only if its message differs: repeated identical lines are held back.)
                #expect((1...2).contains(log.entries.filter { "\($0.message)".contains("camera failed") }.count))
                withExtendedLifetime(subscription) {}
                group.cancelAll()
            }
        }
    }

    @Test func anUpstreamThatOnlyRepeatsAFrameStalls() async throws {
        // A FrameStream upstream whose camera stopped re-sends its last frame as a heartbeat.
        let jpeg = HTTPCameraTests.fixtures[1]
        let part =
            Array(
                "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\nX-Frame-Sequence: 7\r\n\r\n"
                    .utf8
            )
            + jpeg + Array("\r\n".utf8)
        try await UpstreamServer.run { router in
            router.get("/cam", use: Self.repeating(part))
        } _: { baseURL in
            let clock = ManualClock()
            let camera = try HTTPCamera(
                configuration: .init(url: baseURL + "/cam", stallTimeout: .milliseconds(1500)),
                clock: clock
            )
            var frames = camera.frames().makeAsyncIterator()
            #expect(try await frames.next()?.bytes == jpeg)
            let iterator = frames
            async let failure = Self.failure(of: iterator)
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(1500))
            let error = await failure as? HTTPCameraError
            guard case .noValidFrame(_, let within, _, _, _) = error else {
                Issue.record("expected noValidFrame, got \(String(describing: error))")
                return
            }
            #expect(within == .milliseconds(1500))
            #expect(error?.description.contains("1.5 s") == true)
        }
    }

    @Test func framesOverTheLimitFailWithTheLimitNamed() async throws {
        let jpeg = HTTPCameraTests.fixtures[0]  // about 21 KB
        let part = Array("--frame\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg + Array("\r\n".utf8)
        let (written, counter) = AsyncStream.makeStream(of: Void.self)
        try await UpstreamServer.run { router in
            router.get("/cam", use: Self.repeating(part, pause: nil, written: counter))
        } _: { baseURL in
            let clock = ManualClock()
            let camera = try HTTPCamera(
                configuration: .init(
                    url: baseURL + "/cam",
                    stallTimeout: .milliseconds(300),
                    maximumFrameBytes: 10_000
                ),
                clock: clock
            )
            async let failure = Self.failure(of: camera.frames().makeAsyncIterator())
            await clock.waitForSleepers(1)
            // 1500 parts (31 MB) written: far more than loopback buffers hold (about 10 MB), so the camera has read
            // oversized images.
            var count = 0
            for await _ in written {
                count += 1
                if count == 1500 { break }
            }
            clock.advance(by: .milliseconds(300))
            let error = await failure as? HTTPCameraError
            #expect(error == .frameTooLarge(baseURL + "/cam", limit: 10_000), "\(String(describing: error))")
            #expect(error?.description.contains("larger than the 10.0 KB limit") == true)
            #expect(error?.description.contains("raise maximumFrameBytes") == true)
        }
    }

    @Test func aWebPageIsRefusedAtOnceByItsContentType() async throws {
        try await UpstreamServer.run { router in
            router.get("/") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: "text/html; charset=utf-8"],
                    body: ResponseBody { writer in
                        // A page that never ends, as a camera's live-view page may be.
                        for _ in 0..<2000 {
                            try await writer.write(ByteBuffer(string: "<p>live view</p>\n"))
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        try await writer.finish(nil)
                    }
                )
            }
        } _: { baseURL in
            let camera = try HTTPCamera(configuration: .init(url: baseURL + "/"))
            var frames = camera.frames().makeAsyncIterator()
            let error = await #expect(throws: HTTPCameraError.self) { try await frames.next() }
            #expect(error == .notMotionJPEG(baseURL + "/", contentType: "text/html; charset=utf-8"))
            let description = error?.description ?? ""
            #expect(description.contains("answered text/html; charset=utf-8, not Motion-JPEG"), "\(description)")
            #expect(try await frames.next() == nil)
        }
    }

    @Test func messagesShowShortDurationsWithTheirFraction() {
        #expect(HTTPCameraError.seconds(.milliseconds(300)) == "0.3 s")
        #expect(HTTPCameraError.seconds(.milliseconds(1250)) == "1.25 s")
        #expect(HTTPCameraError.seconds(.seconds(10)) == "10 s")
        #expect(HTTPCameraError.seconds(.microseconds(500)) == "0.0005 s")
        let error = HTTPCameraError.noValidFrame(
            "http://cam/x",
            within: .milliseconds(300),
            answered: true,
            receivedBytes: 5000,
            repeatedFrame: nil
        )
        #expect(
            error.description == "upstream http://cam/x sent 5000 bytes in 0.3 s but no complete JPEG: "
                + "is it a Motion-JPEG stream? reconnecting"
        )
        let silent = HTTPCameraError.noValidFrame(
            "http://cam/x",
            within: .seconds(2),
            answered: false,
            receivedBytes: 0,
            repeatedFrame: nil
        )
        #expect(silent.description.contains("did not answer within 2 s"))
    }
}
