import AsyncHTTPClient
import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1)))
struct HTTPCameraTests {
    static let fixtures: [[UInt8]] = (1...3).map { number in
        [UInt8](FileManager.default.contents(atPath: "\(TestFixtures.directory)/\(number).jpg")!)
    }

    @Test func relaysAnotherFrameStreamServer() async throws {
        try await LiveServer.run { upstream in
            let camera = try HTTPCamera(configuration: .init(url: upstream.baseURL + "/video_feed"))
            var frames = camera.frames().makeAsyncIterator()
            let image = JPEGImage(bytes: Self.fixtures[0])
            let sender = Task {
                await upstream.camera.waitForStarts(1)
                upstream.camera.send(image)
            }
            #expect(try await frames.next()?.bytes == image.bytes)
            await sender.value
            upstream.camera.send(JPEGImage(bytes: Self.fixtures[1]))
            #expect(try await frames.next()?.bytes == Self.fixtures[1])
        }
    }

    @Test func relaysAnotherFrameStreamServerWithoutItsHeartbeats() async throws {
        try await LiveServer.run(heartbeatInterval: .seconds(1)) { upstream in
            let camera = try HTTPCamera(configuration: .init(url: upstream.baseURL + "/video_feed"))
            var frames = camera.frames().makeAsyncIterator()
            let sender = Task {
                await upstream.camera.waitForStarts(1)
                upstream.camera.send(JPEGImage(bytes: Self.fixtures[0]))
            }
            #expect(try await frames.next()?.bytes == Self.fixtures[0])
            await sender.value
            // The upstream's camera sends nothing new: the upstream re-sends frame 1 as heartbeats, which are no
            // new frames here.
            for _ in 0..<3 {
                await upstream.clock.waitForSleepers(1)
                upstream.clock.advance(by: .seconds(1))
            }
            await upstream.clock.waitForSleepers(1)
            upstream.camera.send(JPEGImage(bytes: Self.fixtures[1]))
            #expect(try await frames.next()?.bytes == Self.fixtures[1])
        }
    }

    @Test func readsAHandBuiltStreamWithQuirksAndReportsItsEnd() async throws {
        // Garbage first; a quoted boundary; parts without Content-Length; a boundary without leading dashes; stray
        // bytes between parts; then the upstream closes.
        var body = Array("garbage before the first boundary\r\n--quirky\r\n".utf8)
        body += Array("Content-Type: image/jpeg\r\n\r\n".utf8) + Self.fixtures[0] + Array("\r\nquirky\r\n".utf8)
        body += Array("Content-Type: image/jpeg\r\nContent-Length: \(Self.fixtures[1].count)\r\n\r\n".utf8)
        body += Self.fixtures[1] + [0x13, 0x37, 0xFF, 0x00] + Array("\r\n--quirky\r\n\r\n".utf8) + Self.fixtures[2]
        let stream = body
        try await UpstreamServer.run { router in
            router.get("/cam") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: #"multipart/x-mixed-replace;boundary="quirky""#],
                    body: ResponseBody { writer in
                        // Odd-sized chunks, as a slow camera sends them.
                        var offset = 0
                        while offset < stream.count {
                            let end = min(stream.count, offset + 1000)
                            try await writer.write(ByteBuffer(bytes: stream[offset..<end]))
                            offset = end
                        }
                        try await writer.finish(nil)
                    }
                )
            }
        } _: { baseURL in
            let camera = try HTTPCamera(configuration: .init(url: baseURL + "/cam"))
            var frames = camera.frames().makeAsyncIterator()
            for fixture in Self.fixtures {
                let image = try #require(try await frames.next())
                #expect(image.bytes.count == fixture.count)
                #expect(image.bytes.elementsEqual(fixture))
            }
            await #expect(throws: HTTPCameraError.streamEnded(baseURL + "/cam")) { try await frames.next() }
        }
    }

    @Test func sendsCredentialsFromTheAddressAndReportsRefusal() async throws {
        try await UpstreamServer.run { router in
            router.get("/private") { request, _ in
                let expected = "Basic " + Data("viewer:se cret".utf8).base64EncodedString()
                guard request.headers[.authorization] == expected else { return Response(status: .unauthorized) }
                return Response(
                    status: .ok,
                    headers: [.contentType: "image/jpeg"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.fixtures[2]))
                )
            }
        } _: { baseURL in
            let host = baseURL.dropFirst("http://".count)
            let allowed = try HTTPCamera(configuration: .init(url: "http://viewer:se%20cret@\(host)/private"))
            var frames = allowed.frames().makeAsyncIterator()
            #expect(try await frames.next()?.bytes == Self.fixtures[2])

            let refused = try HTTPCamera(configuration: .init(url: "http://viewer:wrong@\(host)/private"))
            var none = refused.frames().makeAsyncIterator()
            let error = await #expect(throws: HTTPCameraError.self) { try await none.next() }
            // The password is not shown; the user is, to tell which credentials were refused.
            #expect(error == .unauthorized("http://viewer:***@\(host)/private", status: 401))
            #expect(error?.description.contains("user and password") == true)
            #expect(error?.description.contains("wrong") == false)
        }
    }

    @Test func unreachableUpstreamAndBadAddressesFailClearly() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once; the caller's client
        // (which does not retry) reports it at once.
        try await withNonRetryingClient { client in
            let camera = try HTTPCamera(configuration: .init(url: "http://127.0.0.1:1/stream"), client: client)
            #expect(camera.client === client)
            var frames = camera.frames().makeAsyncIterator()
            let error = await #expect(throws: HTTPCameraError.self) { try await frames.next() }
            guard case .connectionFailed(let url, _) = error else {
                Issue.record("expected connectionFailed, got \(String(describing: error))")
                return
            }
            #expect(url == "http://127.0.0.1:1/stream")
        }
        #expect(throws: HTTPCameraError.invalidURL("ftp://camera/stream")) {
            try HTTPCamera(configuration: .init(url: "ftp://camera/stream"))
        }
        #expect(throws: CameraError.self) {
            try FrameSourceRegistry.standardWithHTTP.makeSource(named: "http", options: CameraOptions())
        }
    }

    @Test func usesTheCallersClientOrTheSharedOneAndMakesNone() async throws {
        // No client of the camera's own, made per timeout and never shut down: the process-wide one by default.
        let camera = try HTTPCamera(configuration: .init(url: "http://127.0.0.1:1/stream", stallTimeout: .seconds(3)))
        #expect(camera.client === HTTPClient.shared)
        // The caller's client, and only it, does the requests: once the caller has shut it down, the camera fails.
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await client.shutdown()
        let mine = try HTTPCamera(configuration: .init(url: "http://127.0.0.1:1/stream"), client: client)
        var frames = mine.frames().makeAsyncIterator()
        let error = await #expect(throws: HTTPCameraError.self) { try await frames.next() }
        guard case .connectionFailed(_, let reason) = error else {
            Issue.record("expected connectionFailed, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("alreadyShutdown") || reason.contains("shut"), "\(reason)")
    }
}
