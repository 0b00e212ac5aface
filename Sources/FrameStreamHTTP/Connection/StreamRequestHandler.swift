import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// The fast path for uncapped streams: a SwiftNIO handler that answers `GET /video_feed`, `/stream` and
/// `/?action=stream` itself, on the connection's event loop, fed by a ``ViewerHub``.
///
/// Each viewer keeps one slot, the newest part not yet sent. A part is written only when the channel is writable,
/// that is, when the previous one has gone to the kernel (see ``ViewerConnectionHandler``); a part that arrives
/// meanwhile replaces the one waiting. So a slow viewer skips to the newest frame, and a frame costs one
/// `eventLoop.execute` per event loop and one write per viewer, with no task per viewer.
///
/// Requests it does not take (other paths, `?fps=N`, a full server) pass on to Hummingbird's router, whose routes
/// serve them the same way with a task per viewer.
final class StreamRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private enum Mode {
        case passingOn
        case streaming
        case finished
    }

    private let hub: ViewerHub
    private let viewers: ViewerLimit
    private let takesStreams: Bool
    private let logger: Logger
    private var mode = Mode.passingOn
    private var slot: ViewerLimit.Slot?
    private var pending: ByteBuffer?
    /// The newest frame offered, so that a frame offered twice (once at registration, once by the hub) is sent once.
    private var lastSequence: UInt64 = 0
    private var context: ChannelHandlerContext?

    init(hub: ViewerHub, viewers: ViewerLimit, takesStreams: Bool, logger: Logger) {
        self.hub = hub
        self.viewers = viewers
        self.takesStreams = takesStreams
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopStreaming(context: context)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request) where mode == .passingOn && takesStreams && Self.isPlainStream(request):
            guard let slot = viewers.admit() else {
                context.fireChannelRead(data)  // the router answers 503
                return
            }
            startStreaming(context: context, slot: slot)
        case .head, .body, .end:
            if mode == .passingOn { context.fireChannelRead(data) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sendPending(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopStreaming(context: context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, mode == .streaming {
            finishStream()  // the server is shutting down: end the stream cleanly
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A part for this viewer: a newer frame, or the last one again as a heartbeat; called on the channel's event
    /// loop. A frame not newer than the last one offered is ignored, unless it is a heartbeat.
    func offer(_ part: ByteBuffer, sequence: UInt64, isHeartbeat: Bool) {
        guard mode == .streaming, let context, isHeartbeat || sequence > lastSequence else { return }
        lastSequence = max(lastSequence, sequence)
        pending = part
        sendPending(context: context)
    }

    /// Ends the stream with the last chunk and closes the connection; called on the channel's event loop.
    func finishStream() {
        guard mode == .streaming, let context else { return }
        stopStreaming(context: context)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    private func startStreaming(context: ChannelHandlerContext, slot: ViewerLimit.Slot) {
        let (accepted, first) = hub.register(self, on: context.eventLoop)
        guard accepted else {
            context.close(promise: nil)
            return
        }
        mode = .streaming
        self.slot = slot
        logger.debug("viewer connected", metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
        var fields = MJPEGEndpoints.noCacheHeaders
        fields[.contentType] = hub.parts.encoder.contentType
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.body(hub.parts.encoder.streamStart())), promise: nil)
        if let first { offer(first.part, sequence: first.sequence, isHeartbeat: false) }
    }

    private func stopStreaming(context: ChannelHandlerContext) {
        guard mode == .streaming else { return }
        mode = .finished
        pending = nil
        slot = nil
        hub.unregister(self, on: context.eventLoop)
        logger.debug("viewer disconnected", metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
    }

    private func sendPending(context: ChannelHandlerContext) {
        guard mode == .streaming, context.channel.isWritable, let part = pending else { return }
        pending = nil
        context.writeAndFlush(wrapOutboundOut(.body(part)), promise: nil)
    }

    /// `GET` of a stream path with no query option the fast path leaves to the router.
    static func isPlainStream(_ request: HTTPRequest) -> Bool {
        guard request.method == .get, let target = request.path else { return false }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0]
        let query = parts.count > 1 ? parts[1] : ""
        let names = query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).first ?? "" }
        if names.contains("fps") { return false }
        switch path {
        case "/video_feed", "/stream": return true
        case "/", "": return query.split(separator: "&").contains("action=stream")
        default: return false
        }
    }
}

@available(*, unavailable)
extension StreamRequestHandler: Sendable {}
