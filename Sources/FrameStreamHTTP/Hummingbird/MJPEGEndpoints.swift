import CoreMetrics
import Foundation
public import FrameStream
import HTTPTypes
public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle

/// The HTTP endpoints of a camera, as routes to mount anywhere in a Hummingbird application.
///
/// | route (relative to where it is mounted) | what it serves |
/// | --- | --- |
/// | `GET` the mount point itself | a page with the stream, no JavaScript needed (optional) |
/// | `GET …?action=stream`, `GET …?action=snapshot` | mjpg-streamer's addresses, on the page's route |
/// | `GET stream`, `GET video_feed` | the Motion-JPEG stream; `?fps=N` caps its rate |
/// | `GET snapshot.jpg`, `GET snapshot` | one current JPEG |
/// | `GET status` | the camera's and the server's state, as JSON |
/// | `GET controls`, `POST controls` | the camera's controls (brightness, exposure, …) as JSON; setting them needs a signed-in user |
///
/// ```swift
/// let front = MJPEGEndpoints(broadcaster: frontCamera, logger: logger)
/// let back = MJPEGEndpoints(broadcaster: backCamera, logger: logger)
/// let router = Router()
/// router.group("cams").add(middleware: MyAuth()).addRoutes(front.routes(), atPath: "front")
/// router.addRoutes(back.routes(), atPath: "/cams/back")
/// var app = Application(
///     router: router,
///     server: .http1(configuration: .init(additionalChannelHandlers: MJPEGEndpoints.connectionHandlers()))
/// )
/// app.addServices(frontCamera, front, backCamera, back)
/// try await app.runService()
/// ```
///
/// Streams are served only through these routes, after every middleware in front of them. With the
/// ``connectionHandlers(limit:)`` in the server's configuration, a stream then leaves the router for a fast path: each
/// frame's part is built once and written to each viewer from SwiftNIO, without a task per viewer, and a slow
/// viewer stays about one frame behind; the endpoints must run as a service (``run()``). Without the handlers the
/// routes still serve everything, with a task per viewer, but a slow viewer can fall seconds behind.
public struct MJPEGEndpoints: Service, Sendable, CustomStringConvertible {
    /// Limits and timeouts of the endpoints.
    public struct Configuration: Sendable, Hashable {
        /// The most open streams; more get `503 Service Unavailable` with `Retry-After`.
        public var maxClients: Int
        /// The most frames per second any stream sends; `nil` for the camera's rate.
        public var maxFramesPerSecond: Double?
        /// How long a snapshot waits for a fresh frame before `503`.
        public var snapshotTimeout: Duration
        /// How old the newest frame may be for a snapshot to return it at once, and for a new viewer to be shown
        /// it before the next one.
        public var snapshotMaxAge: Duration
        /// How long a viewer may accept no data before it is disconnected (with the connection handlers).
        public var stallTimeout: Duration
        /// The page's title.
        public var title: String
        /// Whether ``routes(context:)`` includes the page (and mjpg-streamer's `?action=` addresses) at the mount
        /// point; without it the application serves its own page there.
        public var includesPage: Bool

        /// Creates a configuration.
        public init(
            maxClients: Int = 1000,
            maxFramesPerSecond: Double? = nil,
            snapshotTimeout: Duration = .seconds(5),
            snapshotMaxAge: Duration = .seconds(1),
            stallTimeout: Duration = .seconds(30),
            title: String = "FrameStream",
            includesPage: Bool = true
        ) {
            self.maxClients = maxClients
            self.maxFramesPerSecond = maxFramesPerSecond
            self.snapshotTimeout = snapshotTimeout
            self.snapshotMaxAge = snapshotMaxAge
            self.stallTimeout = stallTimeout
            self.title = title
            self.includesPage = includesPage
        }
    }

    /// The camera.
    public let broadcaster: FrameBroadcaster
    /// The camera's past (recording, timeshift), for playback, rewinding and export; `nil` for live only.
    public let archive: CameraArchive?
    /// Limits and timeouts.
    public let configuration: Configuration
    let viewers: ViewerLimit
    let stream: MJPEGViewerStream
    private let hub: ViewerHub
    let logger: Logger
    let sessions: PlaybackSessions
    private let startedAt = ContinuousClock.now

    /// Creates the endpoints of a camera.
    /// - Parameters:
    ///   - broadcaster: the camera.
    ///   - archive: the camera's past; with it the routes also serve playback, the player, the listing of
    ///     recordings, frames by time and exports (see <doc:RecordingAndPlayback>).
    ///   - configuration: limits and timeouts.
    ///   - clock: paces viewers with a frame-rate cap; tests pass a manual clock.
    ///   - logger: where viewers' arrivals and departures (debug level), refusals and misuse are logged.
    public init(
        broadcaster: FrameBroadcaster,
        archive: CameraArchive? = nil,
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        self.broadcaster = broadcaster
        self.archive = archive?.isEmpty == true ? nil : archive
        self.sessions = PlaybackSessions(maximum: max(16, configuration.maxClients))
        self.configuration = configuration
        self.viewers = ViewerLimit(maximum: configuration.maxClients, gauge: broadcaster.metrics.streamViewers)
        let parts = MJPEGPartCache()
        self.stream = MJPEGViewerStream(parts: parts, clock: clock)
        var logger = logger
        logger[metadataKey: "camera"] = logger[metadataKey: "camera"] ?? "\(broadcaster.driverName)"
        self.logger = logger
        self.hub = ViewerHub(
            broadcaster: broadcaster,
            parts: parts,
            firstFrameMaxAge: configuration.snapshotMaxAge,
            logger: logger
        )
    }

    /// Feeds the viewers on the fast path, until a graceful shutdown, which ends their streams cleanly. Add the
    /// endpoints to the application's services, after the broadcaster.
    /// - Throws: ``MJPEGEndpointsError/alreadyRunning`` if called a second time.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await hub.run()
        } onGracefulShutdown: {
            hub.shutDown()
        }
    }

    /// Whether ``run()`` runs: the fast path takes viewers.
    var isRunning: Bool { hub.isRunning }

    /// The handlers each HTTP connection (or HTTP/2 stream) needs for the fast path, for
    /// `HTTP1Channel.Configuration(additionalChannelHandlers:)`; one call serves every camera on the server.
    ///
    /// ```swift
    /// server: .http1(configuration: .init(additionalChannelHandlers: MJPEGEndpoints.connectionHandlers()))
    /// ```
    ///
    /// They answer nothing themselves: only when one of the stream routes has accepted a stream does its
    /// connection get the stream settings (`TCP_NOTSENT_LOWAT`, small write watermarks, the stall drop) and the
    /// fast path; every other connection, and every other route, is left as Hummingbird made it. They also keep
    /// pipelined HTTP/1.1 requests in order around a stream. Each connection gets a handler of its own, even if
    /// the result of one call is reused. They set a `FrameStream-Connection` field on each request head (replacing
    /// any a client sent), by which the stream routes know that the connection has them. HTTP/1.0 requests get
    /// HTTP/1.0 responses: close-delimited bodies instead of chunks, and the connection closed after a response
    /// unless the client asked to keep it.
    ///
    /// - Parameter limit: a cap on open HTTP/1.1 connections that closes the longest-idle one when reached (see
    ///   ``ConnectionLimit``); `nil` (the default) for none, leaving the host's connections as they are.
    public static func connectionHandlers(limit: ConnectionLimit? = nil) -> [any RemovableChannelHandler] {
        [StreamConnectionInstaller(limit: limit)]
    }

    /// The routes in the table above, to add to a router or a group under any path:
    /// `router.addRoutes(endpoints.routes(), atPath: "/cams/front")`.
    public func routes<Context: RequestContext>(
        context: Context.Type = BasicRequestContext.self
    ) -> RouteCollection<Context> {
        routes(context: context, page: configuration.includesPage, status: true)
    }

    /// The routes, with or without the page and the status (which a server with several cameras has of its own).
    func routes<Context: RequestContext>(
        context: Context.Type,
        page includesPage: Bool,
        status includesStatus: Bool
    ) -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        if includesPage {
            routes.getAndHead("") { request, context in
                let action = request.uri.queryParameters.get("action")
                switch MJPEGAction(query: action) {
                case nil: return page(for: request)
                case .stream(nil), .stream(0): return streamResponse(for: request, viewer: Self.viewer(in: context))
                case .snapshot(nil), .snapshot(0): return await snapshotResponse(for: request)
                case .stream(.some), .snapshot(.some), .invalid:
                    return Self.badRequest(MJPEGAction.unknown(action ?? "", cameras: 1))
                }
            }
        }
        routes.getAndHead("stream") { request, context in
            streamResponse(for: request, viewer: Self.viewer(in: context))
        }
        routes.getAndHead("video_feed") { request, context in
            streamResponse(for: request, viewer: Self.viewer(in: context))
        }
        routes.getAndHead("snapshot.jpg") { request, _ in await snapshotResponse(for: request) }
        routes.getAndHead("snapshot") { request, _ in await snapshotResponse(for: request) }
        if includesStatus {
            routes.getAndHead("status") { _ in statusResponse() }
        }
        addControlRoutes(to: routes)
        if archive != nil {
            addPlaybackRoutes(to: routes)
        }
        return routes
    }

    /// `MJPEGEndpoints(camera: NAME)`, for logs.
    public var description: String { "MJPEGEndpoints(camera: \(broadcaster.driverName))" }

    /// The page with the stream. Its links are relative, so that it works wherever the routes are mounted.
    public func page(for request: Request) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(
                byteBuffer: ByteBuffer(
                    string: CameraPage.html(title: configuration.title, base: CameraPage.base(of: request.uri.path))
                )
            )
        )
    }

    /// The Motion-JPEG stream for one viewer, or `400` for a malformed query, or `503` over the client limit.
    /// For `HEAD`, the stream's headers and no body.
    ///
    /// With the ``connectionHandlers(limit:)`` on the viewer's connection, the stream leaves the router here for the
    /// fast path; otherwise the response body writes it, a task per viewer.
    public func streamResponse(for request: Request) -> Response {
        streamResponse(for: request, viewer: nil)
    }

    /// A stream request's viewer slot, or the answer instead of a stream.
    enum ViewerAdmission {
        /// The viewer has a slot: stream.
        case admitted(ViewerLimit.Slot)
        /// Answered without a stream: the head alone for HEAD, or 503 when the server has all the viewers it takes.
        case answered(Response)
    }

    /// Takes a viewer's slot for a stream request, or answers it without a stream.
    func admitViewer(_ request: Request, headers: HTTPFields) -> ViewerAdmission {
        if request.method == .head {
            // The stream's head only, with no viewer and no hand-off. No length: an endless stream has none (an
            // empty body would say 0).
            return .answered(
                Response(status: .ok, headers: headers, body: ResponseBody { writer in try await writer.finish(nil) })
            )
        }
        guard let slot = viewers.admit() else {
            logger.notice("viewer refused: \(viewers.maximum) viewers already")
            broadcaster.metrics.countRefusal(status: 503)
            return .answered(
                Self.unavailable("too many viewers (\(viewers.maximum)): try again later", retryAfter: 5)
            )
        }
        return .admitted(slot)
    }

    /// ``streamResponse(for:)`` for a viewer whom access control let in (a playback session is theirs alone).
    func streamResponse(for request: Request, viewer: CameraViewer?) -> Response {
        let options: StreamOptions
        let query = Dictionary(
            request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            uniquingKeysWith: { first, _ in first }
        )
        if archive != nil, let playback = playbackStream(for: request, query: query, viewer: viewer) {
            return playback
        }
        do {
            options = try StreamOptions(query: query).capped(at: configuration.maxFramesPerSecond)
        } catch {
            return Self.badRequest(error.description)
        }
        guard !broadcaster.isShutDown else {
            broadcaster.metrics.countRefusal(status: 503)
            return Self.unavailable("the camera service has shut down", retryAfter: nil)
        }
        var headers = Self.noCacheHeaders
        headers[.contentType] = stream.parts.encoder.contentType
        let slot: ViewerLimit.Slot
        switch admitViewer(request, headers: headers) {
        case .admitted(let admitted): slot = admitted
        case .answered(let response): return response
        }
        let logger = self.logger.with(path: Self.loggedPath(path: request.uri.path, query: request.uri.query))
        // With the connection handler on this connection, the stream is handed to it, which serves it itself or
        // tells the body to write it; without, the body writes it.
        let handoff =
            request.headers[StreamHandoff.connectionField] == StreamHandoff.connectionMarker
            ? StreamHandoff(
                hub: options.maxFramesPerSecond == nil ? hub : nil,
                stallTimeout: configuration.stallTimeout,
                logger: logger,
                slot: slot
            ) : nil
        headers[StreamHandoff.tokenField] = handoff?.tokenValue
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { [self] writer in
                // Ends at once when the client goes or half-closes, even while waiting for a frame or the handler.
                try await Self.untilInboundClose(request) {
                    if await handoff?.outcome() ?? .writeItYourself == .writeItYourself {
                        try await writeStream(to: &writer, options: options, logger: logger)
                    }
                }
                withExtendedLifetime((slot, handoff)) {}
                try await writer.finish(nil)
            }
        )
    }

    /// Runs `operation` until it returns or the client closes its side of the connection, which cancels it; the
    /// response then ends normally, as after a graceful shutdown.
    static func untilInboundClose(
        _ request: Request,
        _ operation: () async throws -> Void
    ) async throws {
        do {
            try await request.body.consumeWithCancellationOnInboundClose { _ in try await operation() }
        } catch is CancellationError {
            // The client has gone or half-closed: the response's end follows.
        }
    }

    /// Writes the stream through the response body until the subscription ends, the task is cancelled or the
    /// server shuts down: a task per viewer, which waits for each frame and writes it.
    private func writeStream(
        to writer: inout any ResponseBodyWriter,
        options: StreamOptions,
        logger: Logger
    ) async throws {
        let subscription = broadcaster.subscribe()
        logger.debug("viewer connected", metadata: ["delivery": "response body"])
        var statistics = ViewerStatistics(metrics: broadcaster.metrics)
        var reason = "left"
        defer { statistics.logEnd(logger, delivery: "response body", remote: nil, reason: reason) }
        do {
            try await withGracefulShutdownHandler {
                try await stream.run(subscription, options: options, statistics: &statistics) {
                    try await writer.write($0)
                }
            } onGracefulShutdown: {
                subscription.end()
            }
        } catch {
            reason = "\(error)"
            throw error
        }
    }

    /// ``snapshotResponse(placeholder:)`` for a request: `?placeholder=0` asks for the plain `503`.
    public func snapshotResponse(for request: Request) async -> Response {
        await snapshotResponse(placeholder: request.uri.queryParameters.get("placeholder") != "0")
    }

    /// One current JPEG, or `503` when the camera sends none in time: with `Retry-After` and, while the camera has
    /// no picture and `placeholder` is true, the placeholder JPEG (with `X-Placeholder: REASON`) as its body;
    /// otherwise the reason as text.
    public func snapshotResponse(placeholder: Bool = true) async -> Response {
        broadcaster.metrics.snapshotViewers.increment()
        defer { broadcaster.metrics.snapshotViewers.decrement() }
        do {
            let frame = try await broadcaster.snapshot(
                maxAge: configuration.snapshotMaxAge,
                timeout: configuration.snapshotTimeout
            )
            var headers = Self.noCacheHeaders
            headers[.contentType] = "image/jpeg"
            headers[Self.timestamp] = MJPEGPartEncoder.unixSeconds(frame.captureTime)
            headers[Self.frameSequence] = "\(frame.sequence)"
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: frame.jpeg))
            )
        } catch {
            if placeholder, let current = broadcaster.currentPlaceholder {
                var headers = Self.noCacheHeaders
                headers[.contentType] = "image/jpeg"
                headers[.retryAfter] = "1"
                headers[Self.placeholder] = current.reason.rawValue
                return Response(
                    status: .serviceUnavailable,
                    headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: current.jpeg))
                )
            }
            return Self.unavailable("\(error)", retryAfter: 1)
        }
    }

    /// The state of the camera and the server.
    public func status() -> ServerStatus {
        let camera = broadcaster.status
        return ServerStatus(
            camera: .init(
                driver: camera.driver,
                running: camera.isRunning,
                phase: camera.phase,
                fps: (camera.framesPerSecond * 100).rounded() / 100,
                frames: camera.framesProduced,
                lastFrameSequence: camera.lastFrameSequence,
                lastFrameTime: camera.lastFrameTime?.timeIntervalSince1970,
                lastError: camera.lastError,
                lastErrorTime: camera.lastErrorTime?.timeIntervalSince1970,
                restarts: camera.restarts,
                subscribers: camera.subscribers,
                idleTimeout: broadcaster.configuration.idleTimeout?.seconds
            ),
            recording: archive?.recording.map { recording in
                let status = recording.status
                return .init(
                    recording: status.recording,
                    framesWritten: status.framesWritten,
                    bytesWritten: status.bytesWritten,
                    framesDropped: status.framesDropped,
                    lastWrittenTime: status.lastWrittenMicros.map { Double($0) / 1_000_000 },
                    lastError: status.lastError,
                    lastErrorTime: status.lastErrorTime?.timeIntervalSince1970
                )
            },
            timeshift: archive?.timeshift.map { timeshift in
                let usage = timeshift.usage
                let range = timeshift.timeRange
                return .init(
                    frames: usage.frames,
                    bytes: usage.bytes,
                    seconds: range.map { Double($0.upperBound - $0.lowerBound) / 1_000_000 } ?? 0
                )
            },
            clients: viewers.current,
            maxClients: viewers.maximum,
            maxFps: configuration.maxFramesPerSecond,
            uptime: (ContinuousClock.now - startedAt).seconds
        )
    }

    /// ``status()`` as a JSON response.
    public func statusResponse() -> Response {
        Self.jsonResponse(status())
    }

    static func jsonResponse(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = Self.noCacheHeaders
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    static let timestamp = HTTPField.Name("X-Timestamp")!
    static let frameSequence = HTTPField.Name("X-Frame-Sequence")!
    static let placeholder = HTTPField.Name(MJPEGPartEncoder.placeholderField)!
    static let noCacheHeaders: HTTPFields = [
        .cacheControl: "no-cache, no-store, must-revalidate",
        HTTPField.Name("Pragma")!: "no-cache",
    ]

    static func unavailable(_ reason: String, retryAfter: Int?) -> Response {
        var headers: HTTPFields = [:]
        headers[.retryAfter] = retryAfter.map(String.init)
        return .plainText(.serviceUnavailable, reason, headers: headers)
    }

    static func badRequest(_ reason: String) -> Response {
        .plainText(.badRequest, reason)
    }
}

extension MJPEGEndpoints {
    /// The request's path and query for logs, with the value of a signed link's `sig` left out: a signature is a
    /// password for as long as the link lasts.
    static func loggedPath(path: String, query: String?) -> String {
        guard let query, !query.isEmpty else { return path }
        let shown = query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            pair.hasPrefix("sig=") ? "sig=<hidden>" : String(pair)
        }
        return path + "?" + shown.joined(separator: "&")
    }
}

extension Logger {
    /// This logger with the request's path in its metadata.
    func with(path: some CustomStringConvertible) -> Logger {
        var logger = self
        logger[metadataKey: "path"] = "\(path)"
        return logger
    }
}
