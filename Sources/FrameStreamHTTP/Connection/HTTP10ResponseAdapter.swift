import NIOCore
import NIOHTTP1

/// Answers HTTP/1.0 requests in HTTP/1.0: a response without a length goes out close-delimited instead of chunked
/// (chunks are HTTP/1.1; an HTTP/1.0 client would read the chunk-size lines as data), and the connection closes
/// after the response unless the request asked for `Connection: keep-alive` and the response has a length.
///
/// It sits between NIO's HTTP/1 codec and Hummingbird's conversion to HTTP types, which forgets the version.
final class HTTP10ResponseAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// For each request whose response has not started, in order: whether it was HTTP/1.0 and asked to keep the
    /// connection.
    private var requests: [(isHTTP10: Bool, keepAlive: Bool)] = []
    /// The response being written closes the connection at its end.
    private var closesAfterResponse = false
    /// The response being written (its head has passed) is an HTTP/1.0 one: its body is not chunked.
    private(set) var isWritingHTTP10Response = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            let isHTTP10 = head.version.major == 1 && head.version.minor == 0
            let keepAlive = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "keep-alive" }
            requests.append((isHTTP10, keepAlive))
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            let request = requests.isEmpty ? (isHTTP10: false, keepAlive: false) : requests.removeFirst()
            isWritingHTTP10Response = request.isHTTP10
            guard request.isHTTP10 else {
                context.write(data, promise: promise)
                return
            }
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            let hasLength = head.headers.contains(name: "content-length")
            let closes =
                !request.keepAlive || !hasLength
                || head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            head.headers.replaceOrAdd(name: "connection", value: closes ? "close" : "keep-alive")
            closesAfterResponse = closes
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            guard closesAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            closesAfterResponse = false
            // The end of a close-delimited body is the end of the connection.
            context.writeAndFlush(data).assumeIsolated().whenComplete { result in
                promise?.completeWith(result)
                context.close(promise: nil)
            }
        case .head, .body:
            context.write(data, promise: promise)
        }
    }
}

@available(*, unavailable)
extension HTTP10ResponseAdapter: Sendable {}
