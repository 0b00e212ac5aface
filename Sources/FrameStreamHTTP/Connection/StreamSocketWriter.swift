import NIOCore

/// The fast path's writer on an HTTP/1 stream connection: it sits next to the socket, in front of NIO's HTTP/1
/// encoder (and behind TLS, where there is TLS), and writes each part as one prebuilt buffer — framed as an
/// HTTP/1.1 chunk, or bare in an HTTP/1.0 response — with one write and one flush, past the HTTP handlers that
/// would otherwise handle every part of every viewer (and split each chunk into three writes).
///
/// It also tells its stream when the socket can take more. With the stream's one-byte watermarks the socket turns
/// unwritable and writable again with every part; while the stream runs, those changes go to the stream directly
/// instead of through the pipeline, where nothing else needs them. When the stream ends, the writer passes the
/// socket's writability on once if it differs from what the handlers behind it last saw, and from then on passes
/// every change on.
final class StreamSocketWriter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Whether a part goes out framed as an HTTP/1.1 chunk (`false`: an HTTP/1.0 response, close-delimited).
    let sendsChunks: Bool
    /// Whether the socket takes more now: nothing written is still waiting in the channel.
    private(set) var isWritable = true

    private var context: ChannelHandlerContext?
    /// The stream being written; `nil` once it has ended. (Cleared then, and when the handler is removed, which
    /// breaks the reference cycle through the pipeline.)
    private var stream: StreamConnectionHandler?
    /// The writability that the handlers behind this one last saw.
    private var forwardedIsWritable = true

    init(stream: StreamConnectionHandler, sendsChunks: Bool) {
        self.stream = stream
        self.sendsChunks = sendsChunks
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
        forwardedIsWritable = isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stream = nil
        self.context = nil
    }

    /// The bytes of a part that this connection writes: the chunk, or the bare part.
    func bytes(of part: MJPEGPart) -> ByteBuffer {
        sendsChunks ? part.chunk : part.body
    }

    /// Writes and flushes bytes to the socket.
    func write(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
    }

    /// The stream has ended: the handlers behind this one learn the socket's writability again.
    func finish() {
        stream = nil
        guard let context, context.channel.isWritable != forwardedIsWritable else { return }
        forwardedIsWritable.toggle()
        context.fireChannelWritabilityChanged()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if let stream {
            stream.socketWritabilityChanged(isWritable: isWritable)
        } else {
            forwardedIsWritable = isWritable
            context.fireChannelWritabilityChanged()
        }
    }
}

@available(*, unavailable)
extension StreamSocketWriter: Sendable {}
