import NIOCore

/// What ``MJPEGEndpoints/connectionHandlers()`` returns: it puts a new ``StreamConnectionHandler`` into each
/// pipeline it is added to, right after itself, and then only passes events on.
///
/// It keeps no state, so even one instance added to many connections (the handlers made once and reused) gives
/// each connection a handler of its own.
final class StreamConnectionInstaller: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            try context.pipeline.syncOperations.addHandler(StreamConnectionHandler(), position: .after(self))
        } catch {
            context.fireErrorCaught(error)
        }
    }
}
