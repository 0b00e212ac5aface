import Foundation
public import FrameStream
public import HTTPTypes
public import Hummingbird
public import Logging
public import NIOCore
public import ServiceLifecycle

/// The HTTP endpoints of a camera, for any Hummingbird application.
///
/// | route | what it serves |
/// | --- | --- |
/// | `GET /` | a page with the stream, no JavaScript needed |
/// | `GET /video_feed`, `GET /stream`, `GET /?action=stream` | the Motion-JPEG stream; `?fps=N` caps its rate |
/// | `GET /snapshot.jpg`, `GET /snapshot`, `GET /?action=snapshot` | one current JPEG |
/// | `GET /status` | the camera's and the server's state, as JSON |
///
/// ```swift
/// let endpoints = MJPEGEndpoints(broadcaster: broadcaster)
/// let router = Router()
/// endpoints.addRoutes(to: router)
/// var app = Application(
///     router: router,
///     server: .http1(configuration: .init(additionalChannelHandlers: endpoints.connectionHandlers()))
/// )
/// app.addServices(broadcaster, endpoints)
/// try await app.runService()
/// ```
///
/// The connection handlers keep a slow viewer's queue to about one frame, drop stalled viewers, and serve
/// uncapped streams straight from SwiftNIO. Without them the routes still serve everything, with a task per viewer,
/// but a slow viewer can fall seconds behind.
public struct MJPEGEndpoints: Service, Sendable, CustomStringConvertible {
    /// Limits and timeouts of the endpoints.
    public struct Configuration: Sendable, Hashable {
        /// The most open streams; more get `503 Service Unavailable` with `Retry-After`.
        public var maxClients: Int
        /// The most frames per second any stream sends; `nil` for the camera's rate.
        public var maxFramesPerSecond: Double?
        /// How long a snapshot waits for a fresh frame before `503`.
        public var snapshotTimeout: Duration
        /// How old the newest frame may be for a snapshot to return it at once.
        public var snapshotMaxAge: Duration
        /// The page's title.
        public var title: String

        /// Creates a configuration.
        public init(
            maxClients: Int = 1000,
            maxFramesPerSecond: Double? = nil,
            snapshotTimeout: Duration = .seconds(5),
            snapshotMaxAge: Duration = .seconds(1),
            title: String = "FrameStream"
        ) {
            self.maxClients = maxClients
            self.maxFramesPerSecond = maxFramesPerSecond
            self.snapshotTimeout = snapshotTimeout
            self.snapshotMaxAge = snapshotMaxAge
            self.title = title
        }
    }

    /// The camera.
    public let broadcaster: FrameBroadcaster
    /// Limits and timeouts.
    public let configuration: Configuration
    private let viewers: ViewerLimit
    private let stream: MJPEGViewerStream
    private let hub: ViewerHub
    private let startedAt = ContinuousClock.now

    /// Creates the endpoints of a camera.
    /// - Parameters:
    ///   - broadcaster: the camera.
    ///   - configuration: limits and timeouts.
    ///   - clock: paces viewers with a frame-rate cap; tests pass a manual clock.
    public init(
        broadcaster: FrameBroadcaster,
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock()
    ) {
        self.broadcaster = broadcaster
        self.configuration = configuration
        self.viewers = ViewerLimit(maximum: configuration.maxClients)
        let parts = MJPEGPartCache()
        self.stream = MJPEGViewerStream(parts: parts, clock: clock)
        self.hub = ViewerHub(broadcaster: broadcaster, parts: parts)
    }

    /// Feeds the viewers that the connection handlers serve directly, until a graceful shutdown, which ends their
    /// streams cleanly. Add the endpoints to the application's services, after the broadcaster.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await hub.run()
        } onGracefulShutdown: {
            hub.shutDown()
        }
    }

    /// The handlers each HTTP connection needs, for `HTTP1Channel.Configuration(additionalChannelHandlers:)`
    /// (an autoclosure there: each connection gets its own). They keep slow viewers about one frame behind, drop
    /// stalled ones, and serve uncapped streams straight from SwiftNIO, one write per viewer per frame, without a
    /// task per viewer; the endpoints must then run as a service (``run()``).
    /// - Parameters:
    ///   - stalledClientTimeout: how long a viewer may accept nothing before it is dropped.
    ///   - logger: where viewers' arrivals and departures are logged, at debug level.
    public func connectionHandlers(
        stalledClientTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "FrameStreamHTTP", factory: { _ in SwiftLogNoOpLogHandler() })
    ) -> [any RemovableChannelHandler] {
        let nanoseconds = Int64(stalledClientTimeout.seconds * 1e9)
        return [
            IdleStateHandler(writeTimeout: .nanoseconds(nanoseconds)),
            ViewerConnectionHandler(),
            StreamRequestHandler(
                hub: hub,
                viewers: viewers,
                takesStreams: configuration.maxFramesPerSecond == nil,
                logger: logger
            ),
        ]
    }

    /// Adds every route in the table above to the router.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { request, context in
            switch request.uri.queryParameters.get("action") {
            case nil: page()
            case "stream": streamResponse(for: request, logger: context.logger)
            case "snapshot": await snapshotResponse()
            case let action?: Self.badRequest("unknown action '\(action)': use action=stream or action=snapshot")
            }
        }
        router.get("/video_feed") { request, context in streamResponse(for: request, logger: context.logger) }
        router.get("/stream") { request, context in streamResponse(for: request, logger: context.logger) }
        router.get("/snapshot.jpg") { _, _ in await snapshotResponse() }
        router.get("/snapshot") { _, _ in await snapshotResponse() }
        router.get("/status") { _, _ in statusResponse() }
    }

    /// `MJPEGEndpoints(camera: NAME)`, for logs.
    public var description: String { "MJPEGEndpoints(camera: \(broadcaster.driverName))" }

    /// The page with the stream.
    public func page() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: CameraPage.html(title: configuration.title)))
        )
    }

    /// The Motion-JPEG stream for one viewer, or `400` for a malformed query, or `503` over the client limit.
    /// - Parameters:
    ///   - request: the viewer's request, whose query may hold `fps=N`.
    ///   - logger: where the viewer's arrival and departure are logged, at debug level.
    public func streamResponse(for request: Request, logger: Logger) -> Response {
        let options: StreamOptions
        do {
            let query = Dictionary(
                request.uri.queryParameters.map { (String($0.key), String($0.value)) },
                uniquingKeysWith: { first, _ in first }
            )
            options = try StreamOptions(query: query).capped(at: configuration.maxFramesPerSecond)
        } catch {
            return Self.badRequest(error.description)
        }
        guard let slot = viewers.admit() else {
            logger.notice("viewer refused: \(viewers.maximum) viewers already")
            return Response(
                status: .serviceUnavailable,
                headers: [.retryAfter: "5", .contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: "too many viewers (\(viewers.maximum)): try again later\n")
                )
            )
        }
        let stream = self.stream
        let broadcaster = self.broadcaster
        var headers = Self.noCacheHeaders
        headers[.contentType] = stream.parts.encoder.contentType
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                let subscription = broadcaster.subscribe()
                logger.debug("viewer connected", metadata: ["path": "\(request.uri)"])
                defer { logger.debug("viewer disconnected", metadata: ["path": "\(request.uri)"]) }
                // Ends at once when the client goes, even while waiting for a frame, or when the server shuts down.
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withGracefulShutdownHandler {
                        try await stream.run(subscription, options: options) { try await writer.write($0) }
                    } onGracefulShutdown: {
                        subscription.end()
                    }
                }
                withExtendedLifetime(slot) {}
                try await writer.finish(nil)
            }
        )
    }

    /// One current JPEG, or `503` with the reason when the camera sends none in time.
    public func snapshotResponse() async -> Response {
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
            return Response(
                status: .serviceUnavailable,
                headers: [.retryAfter: "1", .contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "\(error)\n"))
            )
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
            clients: viewers.current,
            maxClients: viewers.maximum,
            maxFps: configuration.maxFramesPerSecond,
            uptime: (ContinuousClock.now - startedAt).seconds
        )
    }

    /// ``status()`` as a JSON response.
    public func statusResponse() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(status())) ?? Data("{}".utf8)
        var headers = Self.noCacheHeaders
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    static let timestamp = HTTPField.Name("X-Timestamp")!
    static let frameSequence = HTTPField.Name("X-Frame-Sequence")!
    static let noCacheHeaders: HTTPFields = [
        .cacheControl: "no-cache, no-store, must-revalidate",
        HTTPField.Name("Pragma")!: "no-cache",
    ]

    static func badRequest(_ reason: String) -> Response {
        Response(
            status: .badRequest,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: reason + "\n"))
        )
    }
}
