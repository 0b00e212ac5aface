import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A viewer over HTTP/2, without TLS (prior knowledge) or over TLS (ALPN `h2`), on SwiftNIO's HTTP/2 client, with
/// browser-like flow-control windows (16 MiB unless the test asks for others) and a small receive buffer, that can
/// stop reading its connection, or only its own stream, while the test wants it to. More streams can share its
/// connection (``openStream(path:)``).
struct HTTP2Viewer {
    /// What the stream's channel hands to the test.
    enum Event: Sendable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end
    }

    let connection: any Channel
    let stream: any Channel
    let status: Int
    let headers: HTTPHeaders
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    private let port: Int
    private var events: AsyncStream<Event>.AsyncIterator
    private var reader = MultipartReader()

    /// Opens `path` on a new connection to the server.
    /// - Parameters:
    ///   - tls: connect with TLS, offering only `h2` by ALPN (certificates are not checked).
    ///   - streamWindow: the flow-control window of each stream, which the server may fill before the viewer reads.
    static func open(
        port: Int,
        path: String = "/video_feed",
        tls: Bool = false,
        streamWindow: Int = 16 << 20
    ) async throws -> HTTP2Viewer {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .maxFrameSize, value: 1 << 14),
        ]
        connectionConfiguration.targetWindowSize = 16 << 20
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = streamWindow
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let configured = eventLoop.makePromise(of: NIOHTTP2Handler.StreamMultiplexer.self)
        let sslContext: NIOSSLContext? =
            if tls {
                try {
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    configuration.certificateVerification = .none
                    configuration.applicationProtocols = ["h2"]
                    return try NIOSSLContext(configuration: configuration)
                }()
            } else { nil }
        // The HTTP/2 handler goes in before the connection reads anything: the server speaks first.
        let connecting = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: sslContext, serverHostname: nil)
                        )
                    }
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
        return try await open(path: path, connection: connection, multiplexer: multiplexer, port: port)
    }

    /// Opens `path` as another stream on this viewer's connection.
    func openStream(path: String = "/video_feed") async throws -> HTTP2Viewer {
        try await Self.open(path: path, connection: connection, multiplexer: multiplexer, port: port)
    }

    private static func open(
        path: String,
        connection: any Channel,
        multiplexer: NIOHTTP2Handler.StreamMultiplexer,
        port: Int
    ) async throws -> HTTP2Viewer {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        let created = connection.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
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
            stream: stream,
            status: Int(response.status.code),
            headers: response.headers,
            multiplexer: multiplexer,
            port: port,
            events: iterator
        )
    }

    /// Stops or resumes reading the connection: what a viewer on a slow link does to the server.
    func setReading(_ reading: Bool) async throws {
        try await connection.setOption(.autoRead, value: reading).get()
        if reading { connection.read() }
    }

    /// Stops or resumes reading this stream only: its flow-control window is not given back while it does not
    /// read, so the server can send it no more than the window, while the connection's other streams go on.
    func setStreamReading(_ reading: Bool) async throws {
        try await stream.setOption(.autoRead, value: reading).get()
        if reading { stream.read() }
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

    /// The sequence numbers of the parts that come until the one numbered `last`, or until `limit` parts: what a
    /// viewer that stopped reading had queued for it.
    mutating func sequences(until last: UInt64, atMost limit: Int) async throws -> [UInt64] {
        var sequences: [UInt64] = []
        repeat {
            guard let sequence = try await nextPart()?.sequence else { throw HTTP2ViewerError.ended(after: sequences) }
            sequences.append(sequence)
        } while sequences.last != last && sequences.count < limit
        return sequences
    }

    func close() async {
        try? await connection.close()
    }

    /// Closes this stream only (a reset), leaving the connection and its other streams open.
    func closeStream() async {
        try? await stream.close()
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
    /// The stream ended after these parts.
    case ended(after: [UInt64])
}
