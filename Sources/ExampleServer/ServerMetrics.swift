import CoreMetrics
import FrameStream
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The server's metrics in Prometheus's text format: a registry of its own (not the process-wide metrics system,
/// which an embedding program may own), the factory the cameras record into, and `GET /metrics`.
struct ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// What the cameras, their endpoints and their recorders record into.
    let factory: PrometheusMetricsFactory

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Seconds, from a millisecond up: a frame on a LAN is sent in a few milliseconds, a stalled one in seconds.
        factory.durationHistogramBuckets[CameraMetrics.frameLatencyLabel] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2),
            .seconds(5),
        ]
        // JPEG sizes, from a small VGA frame to a large 4K one.
        factory.valueHistogramBuckets[CameraMetrics.frameSizeLabel] = [
            10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
        ]
        self.factory = factory
    }

    /// Every metric now, in the text exposition format.
    func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/plain; version=0.0.4; charset=utf-8",
                .cacheControl: "no-cache, no-store, must-revalidate",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }

    /// `GET /metrics` (and `HEAD`), on a router.
    func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.get("metrics") { _, _ in response() }
        router.head("metrics") { _, _ in response() }
    }

    /// A listener of its own that serves `/metrics` only, without users: for `--metrics-port`.
    func listener(host: String, port: Int, logger: Logger) -> some Service {
        let router = Router()
        addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "FrameStream"),
            onServerRunning: { channel in
                logger.notice("metrics at http://\(host):\(channel.localAddress?.port ?? port)/metrics")
            },
            logger: logger
        )
    }
}
