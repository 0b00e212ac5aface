import NIOCore
import NIOHTTPTypesHTTP1

/// What ``MJPEGEndpoints/connectionHandlers(limit:)`` returns: it puts a new ``StreamConnectionHandler`` into each
/// pipeline it is added to, right after itself (and, on HTTP/1, an ``HTTP10ResponseAdapter`` in front of
/// Hummingbird's HTTP/1 conversion), and then only passes events on.
///
/// Its only state is the shared ``ConnectionLimit``, so even one instance added to many connections (the handlers
/// made once and reused) gives each connection handlers of its own.
final class StreamConnectionInstaller: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    let limit: ConnectionLimit?

    init(limit: ConnectionLimit?) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            let pipeline = context.pipeline.syncOperations
            let codec = try? pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self)
            if let codec {
                try pipeline.addHandler(HTTP10ResponseAdapter(), position: .before(codec.handler))
            }
            let handler = StreamConnectionHandler(limit: codec == nil ? nil : limit)
            try pipeline.addHandler(handler, position: .after(self))
        } catch {
            context.fireErrorCaught(error)
        }
    }
}
