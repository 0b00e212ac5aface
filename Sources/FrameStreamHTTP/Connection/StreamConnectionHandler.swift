import FrameStream
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

import struct Foundation.Date

/// One HTTP connection (or HTTP/2 stream) of a server that streams: it answers nothing itself, but once a route
/// has accepted a stream it serves the stream cheaply and keeps the connection honest.
///
/// Between requests it only keeps HTTP/1.1 pipelining in order: a request that arrives while the previous
/// response is still being written waits here until that response is complete, so a stream that follows other
/// requests starts after their responses, and nothing that comes after a stream request ever reaches it. It adds
/// the ``StreamHandoff/connectionField`` marker to each request head, so that the stream routes know this handler
/// is there.
///
/// When a response head carries a ``StreamHandoff`` token, the connection becomes a stream connection:
/// - **Socket settings, for this connection only.** `TCP_NOTSENT_LOWAT` on the socket, so that the kernel takes
///   more only while little is unsent, and (HTTP/1.1) write watermarks of one byte, so that the next part waits
///   until the previous one has gone to the kernel. A slow viewer is then about one frame behind.
/// - **The fast path.** With a ``ViewerHub``, the handler writes the parts itself: the hub offers each frame's
///   part once per event loop, the handler keeps one slot, the newest part not yet sent, and writes it when the
///   connection can take it. On HTTP/1 a ``StreamSocketWriter`` next to the socket writes each part as one
///   prebuilt chunk, past the HTTP handlers. One write per viewer per frame, no task and no allocation per viewer.
///   The response body, meanwhile, waits for the stream to end.
/// - **Guarding.** Otherwise (a frame-rate cap) the response body writes the stream, and the handler applies the
///   socket settings and the stall drop.
/// - Later requests and stray bytes are dropped; a viewer that accepts nothing for the stall timeout is
///   disconnected; a half-close, a close or a graceful shutdown ends the stream; the connection closes (HTTP/1.1)
///   when its stream ends.
final class StreamConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, FastPathViewer {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Mode {
        /// Ordinary requests and responses.
        case requests
        /// The fast path: this handler writes the stream's parts.
        case streaming(StreamHandoff, ViewerHub)
        /// The response body writes the stream; this handler guards the connection.
        case guarding(StreamHandoff)
        /// The stream has ended; the response's end is still to come.
        case ended
    }

    /// What arrived while an earlier response was still being written.
    private enum Held {
        case read(NIOAny)
        case error(any Error)
        case event(Any)
    }

    private var mode = Mode.requests
    private var context: ChannelHandlerContext?
    /// A request's head has been read and its end not yet.
    private var requestOpen = false
    /// A request's head has been read and its response's end not yet written.
    private var responsePending = false
    private var held: [Held] = []
    private var readPending = false

    /// HTTP/2 stream channels are not sockets: their socket is the parent's, shared with other streams.
    private var isHTTP2Stream = false
    /// The server is shutting down (quiesce seen): a stream that starts now ends at once.
    private var isQuiescing = false
    /// The part not yet sent, on the fast path (as this connection writes it): only the newest is kept.
    private var pending: ByteBuffer?
    /// When the pending part's frame was captured; `nil` for a part that is no new frame (a heartbeat).
    private var pendingCaptureTime: Date?
    /// HTTP/1: the fast path's writer next to the socket; `nil` on HTTP/2, whose parts go through the pipeline.
    private var socketWriter: StreamSocketWriter?
    /// The newest frame offered, so that a frame offered twice (at registration and by the hub) is sent once.
    private var lastSequence: UInt64 = 0
    /// Without a socket writer (HTTP/2): a part is on its way; the next waits for its write to complete.
    private var writeInFlight = false
    /// Since when the viewer has not taken what was written; `nil` while it keeps up.
    private var waitingSince: NIODeadline?
    private var stallCheck: Scheduled<Void>?
    /// What the fast path has delivered, and why it ended.
    private var statistics = ViewerStatistics()
    private var endReason = "left"

    /// The server's cap on connections, if it has one; this connection's number there.
    private let limit: ConnectionLimit?
    private var connectionID: UInt64?
    /// The connection has been counted (or refused) already.
    private var isCounted = false

    init(limit: ConnectionLimit? = nil) {
        self.limit = limit
    }

    /// Where a connection's viewer is identified in logs. (The channel's, not the context's: an HTTP/2 stream
    /// channel traps when asked through its context.)
    private var remote: String { context?.channel.remoteAddress.map { "\($0)" } ?? "?" }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // HTTP/1.1 has Hummingbird's HTTP/1 codec in front of this handler; an HTTP/2 stream channel has not.
        isHTTP2Stream = (try? context.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)) == nil
        if context.channel.isActive { countConnection(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        countConnection(context: context)
        context.fireChannelActive()
    }

    /// Counts this connection against the server's cap, which may close another (idle) one, or this one.
    private func countConnection(context: ChannelHandlerContext) {
        guard let limit, connectionID == nil, !isCounted else { return }
        isCounted = true
        let channel = context.channel
        connectionID = limit.open { channel.close(promise: nil) }
        if connectionID == nil {
            // Refused. Not closed here and now: this runs while the channel is being set up or made active, and
            // the handlers after this one (Hummingbird's async channel) must see it become active before it
            // closes, or they trap.
            context.eventLoop.assumeIsolated().execute { channel.close(promise: nil) }
        }
    }

    /// Tells the cap whether this connection waits for a request, and so may be closed for a new one.
    private func updateIdle() {
        guard let limit, let connectionID else { return }
        let idle: Bool
        if case .requests = mode { idle = !responsePending && !requestOpen && held.isEmpty } else { idle = false }
        limit.setIdle(idle, id: connectionID)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        endStream()
        self.context = nil
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch mode {
        case .requests:
            if isHolding {
                held.append(.read(data))
            } else {
                forwardRequestPart(data, context: context)
            }
        case .streaming, .guarding, .ended:
            // Only the rest of the stream's own request passes; whatever follows it is dropped.
            guard requestOpen else { return }
            if case .end = unwrapInboundIn(data) { requestOpen = false }
            context.fireChannelRead(data)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch mode {
        case .requests where isHolding:
            held.append(.error(error))
        case .streaming, .guarding, .ended:
            // A parse error in bytes after the stream request: they are dropped with it. Others close the connection.
            if !requestOpen, Self.isDecodingError(error) { return }
            context.fireErrorCaught(error)
        case .requests:
            context.fireErrorCaught(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { isQuiescing = true }
        switch mode {
        case .requests where !held.isEmpty && (event as? ChannelEvent) == .inputClosed:
            // Behind a request that waits: the end of the input comes after it.
            held.append(.event(event))
            return
        case .streaming:
            if event is ChannelShouldQuiesceEvent || (event as? ChannelEvent) == .inputClosed {
                // Shutting down, or the client has half-closed: end the stream as the router path does.
                endReason = event is ChannelShouldQuiesceEvent ? "the server is shutting down" : "it closed its side"
                endStream()
            }
        case .requests, .guarding, .ended:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if case .requests = mode, !held.isEmpty {
            // A request waits for the previous response: read no more until it is complete. (Until one waits, reading
            // goes on, so that a long response of the application still sees its client go.)
            readPending = true
            return
        }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connectionID {
            limit?.closed(id: connectionID)
            self.connectionID = nil
        }
        endStream()
        context.fireChannelInactive()
    }

    /// The current request has been read and its response is not complete: the next request waits.
    private var isHolding: Bool { responsePending && !requestOpen }

    private func forwardRequestPart(_ data: NIOAny, context: ChannelHandlerContext) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            requestOpen = true
            responsePending = true
            updateIdle()
            // Replaces any marker the client sent.
            head.headerFields[StreamHandoff.connectionField] = StreamHandoff.connectionMarker
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body:
            context.fireChannelRead(data)
        case .end:
            requestOpen = false
            context.fireChannelRead(data)
        }
    }

    /// Passes on what waited for the previous response, up to the next request that must wait in turn.
    private func releaseHeld(context: ChannelHandlerContext) {
        guard !held.isEmpty else { return readIfPending(context: context) }
        while !held.isEmpty, !isHolding, case .requests = mode {
            switch held.removeFirst() {
            case .read(let data): forwardRequestPart(data, context: context)
            case .error(let error): context.fireErrorCaught(error)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
        }
        // What reads the requests (NIOAsyncChannel) takes them in on the read-complete event.
        context.fireChannelReadComplete()
        readIfPending(context: context)
    }

    private func readIfPending(context: ChannelHandlerContext) {
        if held.isEmpty, readPending {
            readPending = false
            context.read()
        }
    }

    // MARK: Responses

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch (mode, unwrapOutboundIn(data)) {
        case (.requests, .head(var head)) where head.headerFields[StreamHandoff.tokenField] != nil:
            let token = head.headerFields[StreamHandoff.tokenField] ?? ""
            head.headerFields[StreamHandoff.tokenField] = nil
            if let handoff = StreamHandoff.claim(token) {
                startStream(handoff, head: head, promise: promise, context: context)
            } else {
                context.write(wrapOutboundOut(.head(head)), promise: promise)
            }
        case (.requests, .end):
            context.write(data, promise: promise)
            responsePending = false
            releaseHeld(context: context)
            updateIdle()
        case (.requests, _):
            context.write(data, promise: promise)
        case (.streaming, .end), (.guarding, .end), (.ended, .end):
            endStream()
            mode = .ended
            context.write(data, promise: promise)
            if !isHTTP2Stream {
                // Requests after the stream were dropped: the connection has nothing more to say.
                context.flush()
                context.close(promise: nil)
            }
        case (.streaming, _), (.ended, _):
            // The response body writes nothing while the fast path serves the stream.
            promise?.succeed()
        case (.guarding, _):
            context.write(data, promise: promise)
            if !context.channel.isWritable { waitingSince = waitingSince ?? .now() }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // On the fast path the socket writer reports the socket's writability (HTTP/1), or each write's completion
        // tells when the viewer has taken a part (HTTP/2).
        if case .guarding = mode {
            waitingSince = context.channel.isWritable ? nil : (waitingSince ?? .now())
        }
        context.fireChannelWritabilityChanged()
    }

    /// From the socket writer, while the fast path streams: whether the socket takes more.
    func socketWritabilityChanged(isWritable: Bool) {
        waitingSince = isWritable ? nil : (waitingSince ?? .now())
        if isWritable, let context { sendPending(context: context) }
    }

    private func startStream(
        _ handoff: StreamHandoff,
        head: HTTPResponse,
        promise: EventLoopPromise<Void>?,
        context: ChannelHandlerContext
    ) {
        var head = head
        if !isHTTP2Stream {
            // The connection closes when the stream ends (requests after it are dropped): say so, so that clients
            // do not reuse it.
            head.headerFields[.connection] = "close"
        }
        applyStreamSettings(handoff, context: context)
        // What came after the stream request is dropped, but not the end of the input or a connection error; and
        // reading goes on, to see the client close or half-close.
        let replayed = held.filter {
            switch $0 {
            case .read: false
            case .error(let error): !Self.isDecodingError(error)
            case .event: true
            }
        }
        held.removeAll()
        if readPending {
            readPending = false
            context.read()
        }
        // A middleware that encodes the body (compression) must see it: the response body writes the stream then.
        let bodyIsEncoded = head.headerFields[.contentEncoding] != nil
        if let hub = handoff.hub, !bodyIsEncoded, let first = hub.register(self, on: context.eventLoop) {
            mode = .streaming(handoff, hub)
            handoff.logger.debug("viewer connected", metadata: ["remote": "\(remote)", "delivery": "fast path"])
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            if !isHTTP2Stream { installSocketWriter(context: context) }
            statistics.metrics = hub.broadcaster.metrics
            let start = hub.parts.encoder.streamStart()
            statistics.countStart(bytes: start.readableBytes)
            context.writeAndFlush(wrapOutboundOut(.body(start)), promise: nil)
            if isQuiescing {
                endReason = "the server is shutting down"
                endStream()  // the server is shutting down: the response ends at once
            } else if let part = first.part {
                offer(part, sequence: first.sequence, isHeartbeat: first.isPlaceholder)
            }
        } else {
            mode = .guarding(handoff)
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            handoff.resolve(.writeItYourself)
        }
        for item in replayed {
            switch item {
            case .read: break
            case .error(let error): errorCaught(context: context, error: error)
            case .event(let event): userInboundEventTriggered(context: context, event: event)
            }
        }
    }

    /// Puts the fast path's writer in front of NIO's HTTP/1 encoder, once the response head has passed it (which
    /// tells whether the body goes out in chunks). Without that encoder, parts go through the pipeline.
    private func installSocketWriter(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        guard let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) else { return }
        let isHTTP10 = (try? pipeline.handler(type: HTTP10ResponseAdapter.self))?.isWritingHTTP10Response ?? false
        let writer = StreamSocketWriter(stream: self, sendsChunks: !isHTTP10)
        do {
            try pipeline.addHandler(writer, position: .before(encoder))
            socketWriter = writer
        } catch {
            // The pipeline is closing: the stream ends with it.
        }
    }

    private func applyStreamSettings(_ handoff: StreamHandoff, context: ChannelHandlerContext) {
        // The socket: this connection's own, or an HTTP/2 connection's, which then carries a stream.
        let socket = isHTTP2Stream ? context.channel.parent : context.channel
        if let options = socket?.syncOptions {
            // Not every platform has the option; without it the watermarks still bound the server side.
            try? options.setOption(
                ChannelOptions.Types.SocketOption(level: .tcp, name: Self.tcpNotSentLowWatermark),
                value: SocketOptionValue(Self.unsentLimit)
            )
        }
        if !isHTTP2Stream {
            // An HTTP/2 stream channel has no watermarks of its own to set; there a part waits for the previous
            // one's write to complete instead.
            try? context.channel.syncOptions?.setOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: 1, high: 1)
            )
        }
        let timeout = TimeAmount.nanoseconds(Int64(min(handoff.stallTimeout.seconds, 86_400) * 1e9))
        scheduleStallCheck(every: TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 50_000_000)), timeout: timeout)
    }

    /// Every `interval`, closes the connection if the viewer has taken nothing for `timeout`.
    private func scheduleStallCheck(every interval: TimeAmount, timeout: TimeAmount) {
        guard let context else { return }
        // The task holds the handler until it runs or is cancelled (``endStream()`` cancels it, and the handler's
        // removal ends the stream). Not a weak reference: that would give every handler a side table, and make
        // each retain of it on the write path slower.
        stallCheck = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            guard let context = self.context, self.stallCheck != nil else { return }
            if let since = self.waitingSince, NIODeadline.now() - since >= timeout {
                let reason =
                    "dropped: it accepted no data for \(Duration.nanoseconds(timeout.nanoseconds).secondsDescription)"
                if case .guarding(let handoff) = self.mode {
                    handoff.logger.info("viewer \(reason)", metadata: ["remote": "\(self.remote)"])
                }
                self.endReason = reason
                context.close(promise: nil)
                return
            }
            self.scheduleStallCheck(every: interval, timeout: timeout)
        }
    }

    // MARK: The fast path

    /// A part for this viewer from the hub: a newer frame, or the last one again as a heartbeat; called on the
    /// channel's event loop. A frame not newer than the last one offered is ignored, unless it is a heartbeat.
    func offer(_ part: MJPEGPart, sequence: UInt64, isHeartbeat: Bool) {
        guard case .streaming = mode, let context, isHeartbeat || sequence > lastSequence else { return }
        if !isHeartbeat {
            if pendingCaptureTime != nil { statistics.countSkipped() }  // the unsent one is replaced by a newer one
            statistics.countFrame(sequence: sequence)
        }
        lastSequence = max(lastSequence, sequence)
        pending = socketWriter?.bytes(of: part) ?? part.body
        pendingCaptureTime = isHeartbeat ? nil : part.captureTime
        sendPending(context: context)
    }

    private func sendPending(context: ChannelHandlerContext) {
        guard case .streaming = mode, let part = pending else { return }
        // HTTP/1: once the socket takes more; without a socket writer (HTTP/2): once the previous write completed.
        guard socketWriter?.isWritable ?? !writeInFlight else { return }
        pending = nil
        statistics.countSent(bytes: part.readableBytes, frameCapturedAt: pendingCaptureTime)
        pendingCaptureTime = nil
        if let socketWriter {
            socketWriter.write(part)
            return
        }
        writeInFlight = true
        waitingSince = waitingSince ?? .now()
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            guard let self else { return }
            self.writeInFlight = false
            self.waitingSince = nil
            if let context = self.context { self.sendPending(context: context) }
        }
        context.writeAndFlush(wrapOutboundOut(.body(part)), promise: written)
    }

    /// Leaves the stream: unregisters from the hub and lets the response body finish, whose end closes the
    /// connection; called on the channel's event loop, also by the hub when it shuts down. Safe to call more than
    /// once.
    func endStream() {
        stallCheck?.cancel()
        stallCheck = nil
        switch mode {
        case .streaming(let handoff, let hub):
            mode = .ended
            pending = nil
            socketWriter?.finish()
            if let context { hub.unregister(self, on: context.eventLoop) }
            statistics.logEnd(handoff.logger, delivery: "fast path", remote: remote, reason: endReason)
            handoff.resolve(.served)
            // The response's end waits for the connection to take more: from a viewer that takes nothing, it would
            // never come, and the connection (and a graceful shutdown) would wait for ever.
            if let context, !context.channel.isWritable || writeInFlight {
                context.close(promise: nil)
            }
        case .guarding:
            mode = .ended
        case .requests, .ended:
            break
        }
    }

    /// Whether an error says that bytes from the client are not HTTP: the first such error, and those of the
    /// bytes that follow it.
    static func isDecodingError(_ error: any Error) -> Bool {
        error is HTTPParserError || error is ByteToMessageDecoderError
    }

    /// What the kernel may hold unsent for a viewer (`TCP_NOTSENT_LOWAT`).
    static let unsentLimit = 16 * 1024

    /// `TCP_NOTSENT_LOWAT`, Linux's option number (Darwin uses 0x201).
    #if os(Linux)
    static let tcpNotSentLowWatermark = NIOBSDSocket.Option(rawValue: 25)
    #else
    static let tcpNotSentLowWatermark = NIOBSDSocket.Option(rawValue: 0x201)
    #endif
}

@available(*, unavailable)
extension StreamConnectionHandler: Sendable {}
