import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// A viewer over HTTP/2 without TLS (prior knowledge), on SwiftNIO's HTTP/2 client, with browser-like flow-control
/// windows (16 MiB) and a small receive buffer, that can stop reading its connection while the test wants it to.
struct HTTP2Viewer {
    /// What the stream's channel hands to the test.
    enum Event: Sendable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end
    }

    let connection: any Channel
    let status: Int
    let headers: HTTPHeaders
    private var events: AsyncStream<Event>.AsyncIterator
    private var reader = MultipartReader()

    /// Opens `path` on a new connection to the server.
    static func open(port: Int, path: String = "/video_feed") async throws -> HTTP2Viewer {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .initialWindowSize, value: 16 << 20),
            HTTP2Setting(parameter: .maxFrameSize, value: 1 << 14),
        ]
        connectionConfiguration.targetWindowSize = 16 << 20
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = 16 << 20
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let configured = eventLoop.makePromise(of: NIOHTTP2Handler.StreamMultiplexer.self)
        // The HTTP/2 handler goes in before the connection reads anything: the server speaks first.
        let connecting = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client,
                        connectionConfiguration: connectionConfiguration,
                        streamConfiguration: streamConfiguration,
                        inboundStreamInitializer: { $0.eventLoop.makeSucceededVoidFuture() }
                    )
                    configured.succeed(multiplexer)
                }
            }
            .connect(host: "127.0.0.1", port: port)
        connecting.whenFailure { configured.fail($0) }
        let connection = try await connecting.get()
        let multiplexer = try await configured.futureResult.get()
        let created = connection.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try stream.pipeline.syncOperations.addHandler(Collector(sink: sink))
            }
        }
        let stream = try await created.futureResult.get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "host", value: "127.0.0.1:\(port)")
        stream.write(HTTPClientRequestPart.head(head), promise: nil)
        try await stream.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        var iterator = events.makeAsyncIterator()
        guard case .head(let response) = await iterator.next() else { throw HTTP2ViewerError.noResponse }
        return HTTP2Viewer(
            connection: connection,
            status: Int(response.status.code),
            headers: response.headers,
            events: iterator
        )
    }

    /// Stops or resumes reading the connection: what a viewer on a slow link does to the server.
    func setReading(_ reading: Bool) async throws {
        try await connection.setOption(.autoRead, value: reading).get()
        if reading { connection.read() }
    }

    /// The next part, or `nil` when the stream has ended.
    mutating func nextPart() async throws -> ReceivedPart? {
        while true {
            if let part = try reader.nextPart() { return part }
            switch await events.next() {
            case .body(let buffer): reader.feed(buffer.readableBytesView)
            case .head, .end, nil: return nil
            }
        }
    }

    func close() async {
        try? await connection.close()
    }

    /// Hands what the stream receives to the test.
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let sink: AsyncStream<Event>.Continuation

        init(sink: AsyncStream<Event>.Continuation) {
            self.sink = sink
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): sink.yield(.head(head))
            case .body(let body): sink.yield(.body(body))
            case .end: sink.yield(.end)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            sink.finish()
            context.fireChannelInactive()
        }
    }
}

enum HTTP2ViewerError: Error {
    case noResponse
}
