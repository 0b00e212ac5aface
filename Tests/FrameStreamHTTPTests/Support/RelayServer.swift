import AsyncHTTPClient
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import Logging
import NIOHTTP1
import ServiceLifecycle
import Testing

/// A server on port 0 whose camera is an ``HTTPCamera``: a relay of an upstream stream, with its broadcaster and
/// endpoints on a manual clock the test drives.
struct RelayServer {
    let broadcaster: FrameBroadcaster
    let clock: ManualClock
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` against a relay of `camera`, then shuts the server down.
    static func run<Result: Sendable>(
        camera: HTTPCamera,
        clock: ManualClock = ManualClock(),
        logger: Logger,
        _ body: @Sendable (RelayServer) async throws -> Result
    ) async throws -> Result {
        let broadcaster = FrameBroadcaster(
            source: camera,
            driverName: "http",
            configuration: .init(heartbeatInterval: nil),
            clock: clock,
            logger: logger
        )
        let endpoints = MJPEGEndpoints(broadcaster: broadcaster, clock: clock, logger: logger)
        let router = Router()
        router.addRoutes(endpoints.routes())
        return try await UpstreamServer.serve(router, services: [broadcaster, endpoints]) { port in
            try await body(RelayServer(broadcaster: broadcaster, clock: clock, port: port))
        }
    }

    /// The status and body of a GET.
    func get(_ path: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: baseURL + path),
            timeout: .seconds(30)
        )
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}
