import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import HummingbirdCore
import NIOCore
import Testing

/// A request context that keeps its connection, so that a route can report the connection's socket settings.
struct ChannelContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// HTTP/1.1 on connections that carry streams: pipelining, `HEAD`, stray bytes, half-closes, idle timeouts and
/// socket settings, through raw sockets that send exactly what each test says.
@Suite(.timeLimit(.minutes(1)))
struct HTTP1ConnectionTests {
    @Test func pipelinedRequestsAreAnsweredInOrderAndTheStreamStartsAfterThem() async throws {
        try await LiveServer.run { server in
            let connection = try RawConnection(port: server.port)
            connection.send(
                "GET /status HTTP/1.1\r\nHost: x\r\n\r\n" + "HEAD /video_feed HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /video_feed HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            let statusHead = try await connection.readHead()
            #expect(statusHead.hasPrefix("HTTP/1.1 200"))
            #expect(statusHead.lowercased().contains("content-type: application/json"))
            let length = try #require(Self.contentLength(statusHead))
            let status = try JSONDecoder().decode(
                ServerStatus.self,
                from: Data(try await connection.readBody(count: length))
            )
            #expect(status.camera.driver == "manual")

            // HEAD of the stream: its headers, no length, no body.
            let streamHeadOnly = try await connection.readHead()
            #expect(streamHeadOnly.hasPrefix("HTTP/1.1 200"))
            #expect(streamHeadOnly.contains("multipart/x-mixed-replace; boundary=frame"))
            #expect(Self.contentLength(streamHeadOnly) == nil)
            // HEAD of the status: its length, no body.
            let statusHeadOnly = try await connection.readHead()
            #expect(statusHeadOnly.lowercased().contains("content-type: application/json"))
            #expect(Self.contentLength(statusHeadOnly) != nil)

            // Then the stream, whose parts a HEAD before it does not suppress.
            let streamHead = try await connection.readHead()
            #expect(streamHead.hasPrefix("HTTP/1.1 200"))
            #expect(streamHead.lowercased().contains("transfer-encoding: chunked"))
            await server.camera.waitForStarts(1)
            for marker in UInt8(1)...3 {
                server.camera.send(testImage(marker, size: 2000))
                #expect(try await connection.nextPart().sequence == UInt64(marker))
            }
        }
    }

    @Test func snapshotHeadHasTheLengthAndNoBody() async throws {
        try await LiveServer.run { server in
            let connection = try RawConnection(port: server.port)
            connection.send("HEAD /snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n")
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 1234))
            let head = try await connection.readHead()
            #expect(head.contains("image/jpeg"))
            #expect(Self.contentLength(head) == testImage(1, size: 1234).bytes.count)
            // No body came: the next bytes are the next response.
            #expect(try await connection.readHead().lowercased().contains("content-type: application/json"))
        }
    }

    /// The fast path, and a capped stream written by the response body behind the connection handler.
    @Test(arguments: ["/video_feed", "/video_feed?fps=1"])
    func bytesAfterTheStreamRequestNeverReachTheStream(_ path: String) async throws {
        try await LiveServer.run { server in
            let connection = try RawConnection(port: server.port)
            // Garbage in the same packet as the request, and more after the stream has started.
            connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
            #expect(try await connection.readHead().hasPrefix("HTTP/1.1 200"))
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 3000))
            #expect(try await connection.nextPart().sequence == 1)
            connection.send("GET /status HTTP/1.1\r\nHost: x\r\n\r\n\u{01}\u{02} garbage\r\n\r\n")
            for marker in UInt8(2)...4 {
                if path.contains("fps") {
                    await server.clock.waitForSleepers(1)  // the capped viewer waits out its interval
                    server.camera.send(testImage(marker, size: 3000))
                    server.clock.advance(by: .seconds(1))
                } else {
                    server.camera.send(testImage(marker, size: 3000))
                }
                // Strictly framed chunks and parts: a 400 or a JSON answer in between would fail here.
                #expect(try await connection.nextPart().sequence == UInt64(marker))
            }
        }
    }

    /// Both delivery paths behind the connection handler, and the response body without it.
    @Test(arguments: [(true, "/video_feed"), (true, "/video_feed?fps=5"), (false, "/video_feed")])
    func aHalfCloseEndsTheStreamAsOnTheRouterPath(_ handlers: Bool, _ path: String) async throws {
        try await LiveServer.run(connectionHandlers: handlers) { server in
            let connection = try RawConnection(port: server.port)
            // With the handler, a request pipelined after the stream's in the same packet is dropped, and must not
            // stop the server from reading on and seeing the half-close. (Without it, Hummingbird stops watching
            // for the close once it has read the next request's head.)
            let next = handlers ? "GET /status HTTP/1.1\r\nHost: x\r\n\r\n" : ""
            connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n" + next)
            #expect(try await connection.readHead().hasPrefix("HTTP/1.1 200"))
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 1000))
            #expect(try await connection.nextPart().sequence == 1)
            connection.closeForWriting()
            // The response ends and the connection closes; the camera's idle timer starts.
            let rest = try await connection.readUntilClosed()
            #expect(String(decoding: rest.suffix(5), as: UTF8.self) == "0\r\n\r\n")
            await server.clock.waitForSleepers(1)
            #expect(server.broadcaster.status.subscribers == 0)
        }
    }

    @Test(arguments: ["/video_feed", "/video_feed?fps=30"])
    func hummingbirdsIdleTimeoutNeverCutsAStreamThatIsSending(_ path: String) async throws {
        try await LiveServer.run(connectionIdleTimeout: .milliseconds(200)) { server in
            // The timeout is in force: a connection that sends nothing is closed.
            let idle = try RawConnection(port: server.port)
            #expect(try await idle.readUntilClosed().isEmpty)

            let connection = try RawConnection(port: server.port)
            connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await connection.readHead().hasPrefix("HTTP/1.1 200"))
            await server.camera.waitForStarts(1)
            for marker in UInt8(1)...4 {
                server.camera.send(testImage(marker, size: 1000))
                server.clock.advance(by: .seconds(1))
                #expect(try await connection.nextPart().sequence == UInt64(marker))
                // Longer than the idle timeout between frames: the stream must stay open.
                try await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    @Test func socketSettingsApplyToStreamConnectionsOnlyFromTheMomentTheyStream() async throws {
        try await LiveServer.run(context: ChannelContext.self) { router, endpoints in
            router.addRoutes(endpoints[0].routes(context: ChannelContext.self))
            router.get("/api/socket") { _, context -> String in
                let marks = try await context.channel.getOption(ChannelOptions.writeBufferWaterMark).get()
                let unsent = try await context.channel.getOption(
                    ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 25))
                ).get()
                return "\(marks.low) \(marks.high) \(unsent)"
            }
        } _: { (server: LiveServer) async throws in
            // The connection that will stream, before it does, and another one while it does.
            let streaming = try RawConnection(port: server.port)
            streaming.send("GET /api/socket HTTP/1.1\r\nHost: x\r\n\r\nGET /video_feed HTTP/1.1\r\nHost: x\r\n\r\n")
            let before = try await Self.body(of: streaming)
            #expect(try await streaming.readHead().hasPrefix("HTTP/1.1 200"))
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 1000))
            #expect(try await streaming.nextPart().sequence == 1)
            let other = try RawConnection(port: server.port)
            other.send("GET /api/socket HTTP/1.1\r\nHost: x\r\n\r\n")
            let during = try await Self.body(of: other)
            for answer in [before, during] {
                let values = answer.split(separator: " ")
                #expect(values.count == 3)
                #expect(values.prefix(2) != ["1", "1"], "stream watermarks on an API connection: \(answer)")
                #expect(values.last != "16384", "TCP_NOTSENT_LOWAT set on an API connection: \(answer)")
            }
        }
    }

    static func contentLength(_ head: String) -> Int? {
        head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
    }

    static func body(of connection: RawConnection) async throws -> String {
        let head = try await connection.readHead()
        let length = try #require(contentLength(head))
        return String(decoding: try await connection.readBody(count: length), as: UTF8.self)
    }
}
