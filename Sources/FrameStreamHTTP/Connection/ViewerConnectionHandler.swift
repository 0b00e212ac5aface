public import NIOCore

/// Keeps what is queued for a viewer small, and drops viewers whose connection has stalled: a SwiftNIO handler for
/// each HTTP connection of a server that streams.
///
/// - It sets `TCP_NOTSENT_LOWAT` on the socket, so the kernel takes new data only while little of what it has is
///   still unsent. Without it the kernel's send buffer grows to megabytes, and a viewer on a slow link watches
///   video many seconds old.
/// - It lowers the channel's write-buffer watermarks, so a stream's next write waits until the previous part has
///   gone to the kernel. Together, a slow viewer has about one frame queued, and gets the newest frame next.
/// - Put after an `IdleStateHandler` with a write timeout, it closes the connection when that timeout passes while
///   data is still waiting to go out: the viewer accepted nothing for that long. Idle connections with nothing to
///   send are left alone.
///
/// ``MJPEGEndpoints/connectionHandlers(configuration:)`` returns the pair, ready for Hummingbird's
/// `HTTP1Channel.Configuration(additionalChannelHandlers:)`.
public final class ViewerConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Passed on untouched.
    public typealias InboundIn = NIOAny

    /// `TCP_NOTSENT_LOWAT`, Linux's option number (Darwin uses 0x201).
    #if os(Linux)
    static let tcpNotSentLowWatermark = NIOBSDSocket.Option(rawValue: 25)
    #else
    static let tcpNotSentLowWatermark = NIOBSDSocket.Option(rawValue: 0x201)
    #endif

    private let unsentLimit: Int

    /// Creates a handler.
    /// - Parameter unsentLimit: how many unsent bytes the kernel may hold for this connection.
    public init(unsentLimit: Int = 16 * 1024) {
        self.unsentLimit = unsentLimit
    }

    /// Configures the socket if the connection is open already.
    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            configure(context.channel)
        }
    }

    /// Configures the socket when the connection opens.
    public func channelActive(context: ChannelHandlerContext) {
        configure(context.channel)
        context.fireChannelActive()
    }

    /// Closes a connection whose pending data has not moved for the write timeout.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .write, !context.channel.isWritable {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func configure(_ channel: any Channel) {
        guard let options = channel.syncOptions else { return }
        // Not every platform or socket type has the option; without it the watermarks still bound the server side.
        try? options.setOption(
            ChannelOptions.Types.SocketOption(level: .tcp, name: Self.tcpNotSentLowWatermark),
            value: SocketOptionValue(unsentLimit)
        )
        try? options.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 1, high: 1))
    }
}

@available(*, unavailable)
extension ViewerConnectionHandler: Sendable {}
