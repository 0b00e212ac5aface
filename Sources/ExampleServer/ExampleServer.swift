public import ArgumentParser
import FrameStream
import FrameStreamHTTP
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

import class Foundation.ProcessInfo

/// Serves one camera to web browsers as Motion-JPEG.
@main
struct ExampleServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ExampleServer",
        abstract: "Stream a camera to any web browser as Motion-JPEG.",
        discussion: """
            Open http://HOST:PORT/ in a browser. The camera starts with the first viewer and stops IDLE-TIMEOUT \
            seconds after the last one leaves.

            Endpoints: / (page), /video_feed and /stream (MJPEG, ?fps=N caps the rate), /snapshot.jpg, /status \
            (JSON), and mjpg-streamer's /?action=stream and /?action=snapshot.
            """
    )

    @Option(
        help:
            "The camera driver (default: $CAMERA, else emulated). Known: \(Self.drivers.names.joined(separator: ", "))."
    )
    var camera: String?

    @Option(help: "The address to listen on; 0.0.0.0 serves every network interface.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one.")
    var port = 5000

    @Option(help: "Seconds the camera keeps running after the last viewer has gone; 0 stops it at once.")
    var idleTimeout: Double = 10

    @Option(help: "The most viewers at once; more get 503 Service Unavailable.")
    var maxClients = 1000

    @Option(help: "The most frames per second any viewer gets (default: the camera's rate).")
    var maxFps: Double?

    @Option(help: "Seconds without a new frame after which viewers get the last frame again, to keep connections open.")
    var heartbeat: Double = 5

    @Option(help: "Seconds a viewer may accept no data before it is dropped.")
    var stallTimeout: Double = 30

    @Option(help: "The camera's own frame rate, for drivers that pace themselves (emulated: 1).")
    var fps: Double?

    @Option(help: "The capture device, for device drivers (such as /dev/video0).")
    var device: String?

    @Option(help: "The frame size to ask the camera for, as WIDTHxHEIGHT (such as 1280x720).")
    var size: FrameSize?

    @Option(help: "JPEG quality from 1 to 100, for drivers that encode.")
    var quality: Int?

    @Option(help: "A folder of JPEG files for the emulated camera to show in turn, instead of its three test images.")
    var framesDir: String?

    @Option(help: "The upstream stream's address, for the http driver (http://user:password@host:port/path).")
    var url: String?

    @Option(help: "A shell command that writes MJPEG to standard output, for the pipe driver.")
    var command: String?

    @Flag(help: "List the V4L2 capture devices (or only --device) with their formats, sizes and rates, and exit.")
    var listDevices = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    static var drivers: FrameSourceRegistry { .standardWithHTTP }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard idleTimeout >= 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout must be 0 or more") }
        guard maxClients >= 1 else { throw ValidationError("--max-clients must be at least 1") }
        guard maxFps.map({ $0 > 0 && $0 <= 1000 }) ?? true else {
            throw ValidationError("--max-fps must be more than 0 and at most 1000")
        }
        guard heartbeat > 0, heartbeat.isFinite else { throw ValidationError("--heartbeat must be more than 0") }
        guard stallTimeout > 0, stallTimeout.isFinite else {
            throw ValidationError("--stall-timeout must be more than 0")
        }
        guard quality.map({ (1...100).contains($0) }) ?? true else {
            throw ValidationError("--quality must be from 1 to 100")
        }
    }

    /// The driver's name and its camera, from `--camera` or `CAMERA` and the driver options.
    func makeCamera(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "FrameStream", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws -> (name: String, source: any FrameSource) {
        let requested = camera ?? environment[FrameSourceRegistry.environmentVariable] ?? ""
        let name = requested.isEmpty ? FrameSourceRegistry.defaultDriverName : requested.lowercased()
        let options = CameraOptions(
            device: device,
            size: size,
            framesPerSecond: fps,
            quality: quality,
            framesDirectory: framesDir,
            command: command,
            url: url,
            logger: logger
        )
        return (name, try Self.drivers.makeSource(named: name, options: options))
    }

    func run() async throws {
        if listDevices {
            let devices = V4L2Camera.listDevices(paths: device.map { [$0] })
            print(
                devices.isEmpty ? "no V4L2 capture devices found" : devices.map(\.description).joined(separator: "\n")
            )
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "FrameStream")
        let (name, source): (String, any FrameSource)
        do {
            (name, source) = try makeCamera(logger: logger)
        } catch {
            throw CleanExit.message("error: \(error)")
        }
        let broadcaster = FrameBroadcaster(
            source: source,
            driverName: name,
            configuration: .init(idleTimeout: .seconds(idleTimeout), heartbeatInterval: .seconds(heartbeat)),
            logger: logger
        )
        let endpoints = MJPEGEndpoints(
            broadcaster: broadcaster,
            configuration: .init(maxClients: maxClients, maxFramesPerSecond: maxFps)
        )
        let router = Router()
        endpoints.addRoutes(to: router)
        let stallTimeout = Duration.seconds(stallTimeout)
        var app = Application(
            router: router,
            // An autoclosure: every connection gets handlers of its own.
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: endpoints.connectionHandlers(
                        stalledClientTimeout: stallTimeout,
                        logger: logger
                    )
                )
            ),
            configuration: .init(address: .hostname(host, port: port), serverName: "FrameStream"),
            onServerRunning: { [host] channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("serving camera '\(name)' at http://\(host):\(port)/ (press Ctrl-C to stop)")
            },
            logger: logger
        )
        app.addServices(broadcaster, endpoints)
        let group = ServiceGroup(
            configuration: .init(
                services: [app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

extension FrameSize: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
