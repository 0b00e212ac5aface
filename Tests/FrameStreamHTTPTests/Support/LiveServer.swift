import AsyncHTTPClient
import CoreMetrics
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A frame-sized stand-in JPEG (45 KB, like a 640x480 webcam frame) whose bytes tell which frame it is.
func testImage(_ marker: UInt8, size: Int = 45_000) -> JPEGImage {
    JPEGImage(bytes: [0xFF, 0xD8, marker] + [UInt8](repeating: marker, count: size) + [0xFF, 0xD9])
}

/// A camera's routes and the connection handlers on a real socket (port 0), with cameras and a clock the test
/// drives.
struct LiveServer {
    /// The first camera, and its broadcaster and endpoints.
    var camera: ManualCamera { cameras[0] }
    var broadcaster: FrameBroadcaster { broadcasters[0] }
    var endpoints: MJPEGEndpoints { endpointsList[0] }
    let cameras: [ManualCamera]
    let broadcasters: [FrameBroadcaster]
    let endpointsList: [MJPEGEndpoints]
    let clock: ManualClock
    let port: Int
    /// `http`, or `https` with TLS.
    let scheme: String
    let client: HTTPClient
    let group: ServiceGroup

    /// Starts a graceful shutdown, as SIGTERM does.
    func shutDown() async {
        await group.triggerGracefulShutdown()
    }

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Runs `body` against a server, then shuts the server down gracefully; returns once the server has stopped.
    /// - Parameters:
    ///   - cameras: how many cameras, each with its broadcaster and endpoints.
    ///   - connectionHandlers: whether connections get ``MJPEGEndpoints/connectionHandlers()`` (the fast path).
    ///   - runsBroadcasters: whether the broadcasters run as services (or the test runs them itself).
    ///   - runsEndpoints: whether the endpoints run as a service, as they should.
    ///   - http2: serve HTTP/2 without TLS (prior knowledge) instead of HTTP/1.1.
    ///   - tls: serve HTTPS with this configuration, offering HTTP/2 and HTTP/1.1 by ALPN, instead of HTTP.
    ///   - connectionIdleTimeout: Hummingbird's `idleTimeout` for connections.
    ///   - connectionLimit: the cap on open connections, if any.
    ///   - mount: adds the cameras' routes to the router; by default the first camera's at its root.
    static func run<Result: Sendable>(
        cameras cameraCount: Int = 1,
        idleTimeout: Duration? = .seconds(10),
        heartbeatInterval: Duration? = nil,
        placeholders: FrameBroadcaster.Placeholders = .off,
        metrics: (any MetricsFactory)? = nil,
        endpoints configuration: MJPEGEndpoints.Configuration = .init(),
        stalledClientTimeout: Duration? = nil,
        connectionHandlers: Bool = true,
        runsBroadcasters: Bool = true,
        runsEndpoints: Bool = true,
        http2: Bool = false,
        tls: TLSConfiguration? = nil,
        connectionIdleTimeout: TimeAmount? = nil,
        connectionLimit: ConnectionLimit? = nil,
        logger: Logger = quietLogger,
        mount: @Sendable (Router<BasicRequestContext>, [MJPEGEndpoints]) -> Void = { router, endpoints in
            router.addRoutes(endpoints[0].routes())
        },
        _ body: @Sendable (LiveServer) async throws -> Result
    ) async throws -> Result {
        try await run(
            context: BasicRequestContext.self,
            cameras: cameraCount,
            idleTimeout: idleTimeout,
            heartbeatInterval: heartbeatInterval,
            placeholders: placeholders,
            metrics: metrics,
            endpoints: configuration,
            stalledClientTimeout: stalledClientTimeout,
            connectionHandlers: connectionHandlers,
            runsBroadcasters: runsBroadcasters,
            runsEndpoints: runsEndpoints,
            http2: http2,
            tls: tls,
            connectionIdleTimeout: connectionIdleTimeout,
            connectionLimit: connectionLimit,
            logger: logger,
            mount: mount,
            body
        )
    }

    /// ``run(cameras:idleTimeout:heartbeatInterval:endpoints:stalledClientTimeout:connectionHandlers:runsBroadcasters:runsEndpoints:http2:connectionIdleTimeout:connectionLimit:logger:mount:_:)``
    /// with a request context of the test's own.
    static func run<
        Context: RequestContext & InitializableFromSource<ApplicationRequestContextSource>,
        Result: Sendable
    >(
        context: Context.Type,
        cameras cameraCount: Int = 1,
        idleTimeout: Duration? = .seconds(10),
        heartbeatInterval: Duration? = nil,
        placeholders: FrameBroadcaster.Placeholders = .off,
        metrics: (any MetricsFactory)? = nil,
        endpoints configuration: MJPEGEndpoints.Configuration = .init(),
        stalledClientTimeout: Duration? = nil,
        connectionHandlers: Bool = true,
        runsBroadcasters: Bool = true,
        runsEndpoints: Bool = true,
        http2: Bool = false,
        tls: TLSConfiguration? = nil,
        connectionIdleTimeout: TimeAmount? = nil,
        connectionLimit: ConnectionLimit? = nil,
        logger: Logger = quietLogger,
        timeshift: Bool = false,
        mount: @Sendable (Router<Context>, [MJPEGEndpoints]) -> Void,
        _ body: @Sendable (LiveServer) async throws -> Result
    ) async throws -> Result {
        let clock = ManualClock()
        var configuration = configuration
        if let stalledClientTimeout { configuration.stallTimeout = stalledClientTimeout }
        let cameras = (0..<cameraCount).map { _ in ManualCamera() }
        let broadcasters = cameras.enumerated().map { index, camera in
            FrameBroadcaster(
                source: camera,
                driverName: index == 0 ? "manual" : "manual-\(index)",
                configuration: .init(
                    idleTimeout: idleTimeout,
                    heartbeatInterval: heartbeatInterval,
                    placeholders: placeholders
                ),
                clock: clock,
                logger: quietLogger,
                metricsFactory: metrics ?? MetricsSystem.factory
            )
        }
        // With `timeshift`, each camera keeps its last seconds, and its endpoints serve playback.
        let endpointsList = broadcasters.map {
            MJPEGEndpoints(
                broadcaster: $0,
                archive: timeshift ? CameraArchive(timeshift: TimeshiftBuffer(broadcaster: $0)) : nil,
                configuration: configuration,
                clock: clock,
                logger: logger
            )
        }
        let router = Router(context: Context.self)
        mount(router, endpointsList)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        // Without the connection handlers every stream goes through the response body, a task per viewer.
        // Made once and reused for every connection, on purpose: each must still get a handler of its own. (Swift
        // does not let ordinary code share them like this, since handlers are not Sendable; the installer that
        // connectionHandlers() returns keeps no state, so sharing it is safe.)
        nonisolated(unsafe) let handlers =
            connectionHandlers ? MJPEGEndpoints.connectionHandlers(limit: connectionLimit) : []
        let channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: handlers,
            idleTimeout: connectionIdleTimeout
        )
        let server: HTTPServerBuilder =
            if let tls {
                try .http2Upgrade(tlsConfiguration: tls, configuration: .init(streamConfiguration: channel))
            } else if http2 {
                .plaintextHTTP2(configuration: .init(streamConfiguration: channel))
            } else {
                .http1(configuration: channel)
            }
        var app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: quietLogger
        )
        for (broadcaster, endpoints) in zip(broadcasters, endpointsList) {
            if runsBroadcasters { app.addServices(broadcaster) }
            if runsEndpoints { app.addServices(endpoints) }
        }
        let group = ServiceGroup(services: [app], logger: quietLogger)
        // Trusts any certificate: the tests' servers make their own.
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: clientTLS))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next())
            let server = LiveServer(
                cameras: cameras,
                broadcasters: broadcasters,
                endpointsList: endpointsList,
                clock: clock,
                port: port,
                scheme: tls == nil ? "http" : "https",
                client: client,
                group: group
            )
            do {
                let result = try await body(server)
                await group.triggerGracefulShutdown()
                try await tasks.next()
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// Opens a stream and returns a reader of its parts.
    func openStream(_ path: String = "/video_feed", headers: [(String, String)] = []) async throws -> StreamViewer {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(60))
        return StreamViewer(response: response)
    }

    /// The body of a GET, as text.
    func text(_ path: String) async throws -> String {
        String(decoding: try await get(path).body, as: UTF8.self)
    }

    /// Sends a request and collects the whole response.
    func get(
        _ path: String,
        method: HTTPMethod = .GET,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, headers: [String: String], body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 10 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return (Int(response.status.code), headers, Array(buffer: body))
    }
}

/// A logger that keeps what is logged, at debug level, for tests that check what a server said.
func recordingLogger() -> (Logger, InMemoryLogHandler) {
    var handler = InMemoryLogHandler()
    handler.logLevel = .debug
    return (Logger(label: "test", factory: { _ in handler }), handler)
}

/// A viewer that reads a stream through AsyncHTTPClient, one part at a time.
struct StreamViewer {
    let status: Int
    let contentType: String?
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var reader = MultipartReader()

    /// Opens a stream at an address.
    static func open(_ url: String, client: HTTPClient) async throws -> StreamViewer {
        StreamViewer(response: try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(60)))
    }

    init(response: HTTPClientResponse) {
        status = Int(response.status.code)
        contentType = response.headers.first(name: "content-type")
        body = response.body.makeAsyncIterator()
    }

    /// The next part, or `nil` when the stream has ended.
    mutating func nextPart() async throws -> ReceivedPart? {
        while true {
            if let part = try reader.nextPart() { return part }
            guard let chunk = try await body.next() else { return nil }
            reader.feed(chunk.readableBytesView)
        }
    }
}
