public import ArgumentParser
import FrameStream
import FrameStreamHTTP
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

import struct Foundation.Data
import class Foundation.FileHandle
import class Foundation.ProcessInfo

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves cameras to web browsers as Motion-JPEG: one from the command line, or several from a configuration file.
@main
struct ExampleServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ExampleServer",
        abstract: "Stream cameras to any web browser as Motion-JPEG.",
        discussion: """
            Open http://HOST:PORT/ in a browser. A camera starts with its first viewer and stops IDLE-TIMEOUT \
            seconds after the last one leaves.

            Endpoints: / (page), /video_feed and /stream (MJPEG, ?fps=N caps the rate), /snapshot.jpg, /status \
            (JSON), mjpg-streamer's /?action=stream and /?action=snapshot, and for each camera \
            /cameras/NAME/ with its own stream, video_feed, snapshot.jpg and status.

            With --config FILE the cameras come from a YAML file (see the README); flags given on the command line \
            override the file's values, for every camera.
            """
    )

    @Option(help: "A YAML file with the server's settings and cameras; flags given here override its values.")
    var config: String?

    @Option(
        help:
            "The camera driver (default: $CAMERA, else emulated). Known: \(Self.drivers.names.joined(separator: ", "))."
    )
    var camera: String?

    @Option(help: "The camera's name in its addresses, /cameras/NAME/ (default: the driver's name).")
    var name: String?

    @Option(help: "The address to listen on (default: 127.0.0.1); 0.0.0.0 serves every network interface.")
    var host: String?

    @Option(help: "The port to listen on (default: 5000); 0 picks a free one.")
    var port: Int?

    @Option(
        help: """
            Seconds a camera keeps running after the last viewer has gone (default: 10); 0 stops it at once, \
            never keeps it running once started.
            """
    )
    var idleTimeout: IdleTimeout?

    @Option(
        help: """
            Seconds a connection may take to send a request's headers, and may stay idle between requests, before \
            it is closed (default: 10). Streams are not cut.
            """
    )
    var requestTimeout: Double?

    @Option(
        help: """
            The most open connections; over it, the longest-idle one is closed (default: 16384, or the open-file \
            limit less 64 if lower).
            """
    )
    var maxConnections: Int?

    @Option(help: "The most viewers of a camera at once (default: 1000); more get 503 Service Unavailable.")
    var maxClients: Int?

    @Option(help: "The most frames per second any viewer gets (default: the camera's rate).")
    var maxFps: Double?

    @Option(help: "Seconds without a new frame after which viewers get the last frame again (default: 5).")
    var heartbeat: Double?

    @Option(help: "Seconds a viewer may accept no data before it is dropped (default: 30).")
    var stallTimeout: Double?

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

    @Option(help: "Log level (default: info): trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level?

    static var drivers: FrameSourceRegistry { .standardWithHTTP }

    /// Checks the flags' own values, so that a bad one is named as the flag it came from.
    func validate() throws {
        var server = ServerConfiguration(cameras: [CameraConfiguration(name: name ?? "camera", driver: "")])
        apply(to: &server)
        if let (_, problem) = server.problem() {
            throw ValidationError("\(Self.flag(forKey: problem.key)) must be \(problem.expected)")
        }
        if config != nil, camera != nil || name != nil {
            throw ValidationError(
                "--camera and --name set up the one camera of a server without --config: name the cameras in the file"
            )
        }
    }

    /// What to serve: the configuration file's settings with the flags on top, or the flags alone.
    func serverConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StartupError) -> ServerConfiguration {
        var server: ServerConfiguration
        if let config {
            do {
                server = try ConfigurationFile.load(path: config)
            } catch {
                throw StartupError(error.description)
            }
        } else {
            let requested = camera ?? environment[FrameSourceRegistry.environmentVariable] ?? ""
            let driver = requested.isEmpty ? FrameSourceRegistry.defaultDriverName : requested.lowercased()
            server = ServerConfiguration(cameras: [CameraConfiguration(name: name ?? driver, driver: driver)])
        }
        apply(to: &server)
        // The flags were checked on their own: what is left is the file's.
        if let (camera, problem) = server.problem() {
            let error = ConfigurationFileError(
                file: config ?? "the command line",
                camera: camera,
                key: problem.key,
                message: "must be \(problem.expected)"
            )
            throw StartupError(error.description)
        }
        return server
    }

    /// The flags given on the command line, over whatever the configuration file said.
    func apply(to server: inout ServerConfiguration) {
        if let host { server.host = host }
        if let port { server.port = port }
        if let requestTimeout { server.requestTimeout = requestTimeout }
        if let maxConnections { server.maxConnections = maxConnections }
        if let logLevel { server.logLevel = logLevel }
        for index in server.cameras.indices {
            apply(to: &server.cameras[index])
        }
    }

    private func apply(to camera: inout CameraConfiguration) {
        if let device { camera.device = device }
        if let size { camera.size = size }
        if let fps { camera.fps = fps }
        if let quality { camera.quality = quality }
        if let framesDir { camera.framesDir = framesDir }
        if let command { camera.command = command }
        if let url { camera.url = url }
        if let idleTimeout { camera.idleTimeout = idleTimeout.seconds }
        if let maxClients { camera.maxClients = maxClients }
        if let maxFps { camera.maxFps = maxFps }
        if let heartbeat { camera.heartbeat = heartbeat }
        if let stallTimeout { camera.stallTimeout = stallTimeout }
    }

    /// `--max-fps` for the key `maxFps`.
    static func flag(forKey key: String) -> String {
        "--"
            + key.reduce(into: "") { flag, character in
                if character.isUppercase { flag += "-" + character.lowercased() } else { flag.append(character) }
            }
    }

    /// Each camera's driver, made from its options, and the logger of everything about the camera.
    static func makeSources(
        for server: ServerConfiguration,
        file: String?,
        logger: Logger
    ) throws(StartupError) -> [(camera: CameraConfiguration, source: any FrameSource, logger: Logger)] {
        var sources: [(camera: CameraConfiguration, source: any FrameSource, logger: Logger)] = []
        for camera in server.cameras {
            var logger = logger
            logger[metadataKey: "camera"] = "\(camera.name)"
            do {
                let source = try drivers.makeSource(named: camera.driver, options: camera.cameraOptions(logger: logger))
                sources.append((camera, source, logger))
            } catch {
                throw StartupError(file.map { "\($0): camera '\(camera.name)': \(error)" } ?? "\(error)")
            }
        }
        return sources
    }

    func run() async throws {
        if listDevices {
            #if os(Linux)
            let devices = V4L2Camera.listDevices(paths: device.map { [$0] })
            print(
                devices.isEmpty ? "no V4L2 capture devices found" : devices.map(\.description).joined(separator: "\n")
            )
            return
            #else
            throw StartupError("--list-devices lists V4L2 devices, which exist on Linux only")
            #endif
        }
        let server = try serverConfiguration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = server.logLevel
            return handler
        }
        let logger = Logger(label: "FrameStream")
        var services: [any Service] = []
        var cameras: [MJPEGCameraIndex.Camera] = []
        for (camera, source, cameraLogger) in try Self.makeSources(for: server, file: config, logger: logger) {
            let broadcaster = FrameBroadcaster(
                source: source,
                driverName: camera.driver,
                configuration: .init(
                    idleTimeout: camera.idleTimeout.map { .seconds($0) },
                    heartbeatInterval: .seconds(camera.heartbeat)
                ),
                logger: cameraLogger
            )
            let endpoints = MJPEGEndpoints(
                broadcaster: broadcaster,
                configuration: .init(
                    maxClients: camera.maxClients,
                    maxFramesPerSecond: camera.maxFps,
                    stallTimeout: .seconds(camera.stallTimeout),
                    title: config == nil ? "FrameStream" : camera.name
                ),
                logger: cameraLogger
            )
            services += [broadcaster, endpoints]
            cameras.append(MJPEGCameraIndex.Camera(name: camera.name, endpoints: endpoints))
        }
        let index = MJPEGCameraIndex(cameras: cameras)
        let descriptors = DescriptorLimit.raise()
        for warning in DescriptorLimit.warnings(server, descriptors: descriptors) { logger.warning("\(warning)") }
        let limit = ConnectionLimit(
            maximumConnections: DescriptorLimit.connections(server, descriptors: descriptors),
            logger: logger
        )
        let router = Router()
        // A line per request once answered (streams log theirs when they end), in front of every route.
        router.add(middleware: AccessLogMiddleware())
        router.addRoutes(index.routes())
        let names = cameras.map(\.name)
        var app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: MJPEGEndpoints.connectionHandlers(limit: limit),
                    // Hummingbird's idle timeout counts from the last request part: it is also the time allowed
                    // for a request's head, so a client that trickles its headers is closed too.
                    idleTimeout: .nanoseconds(Int64(server.requestTimeout * 1e9))
                )
            ),
            configuration: .init(address: .hostname(server.host, port: server.port), serverName: "FrameStream"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let what =
                    names.count == 1
                    ? "camera '\(names[0])'" : "\(names.count) cameras (\(names.joined(separator: ", ")))"
                logger.notice(
                    "serving \(what) at \(Self.address(host: server.host, port: port)) (press Ctrl-C to stop)"
                )
            },
            logger: logger
        )
        app.addServices(services + [MemoryTrimmer(connections: limit)])
        let group = ServiceGroup(
            configuration: .init(
                services: [app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// Where a person can open the server: `http://127.0.0.1:5000/`, or for a wildcard address the port on every
    /// interface with a local address to try.
    static func address(host: String, port: Int) -> String {
        switch host {
        case "0.0.0.0", "::", "[::]", "*":
            "http://<this machine's address>:\(port)/ (all interfaces; on this machine http://127.0.0.1:\(port)/)"
        default:
            host.contains(":") ? "http://[\(host)]:\(port)/" : "http://\(host):\(port)/"
        }
    }

    /// Runs the command; an error at start is one line on standard error and a non-zero exit status.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = error is StartupError ? "\(error)" : message(for: error)
            let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
            if !line.isEmpty {
                FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            }
            terminate(code.rawValue)
        }
    }
}

/// Ends the process with a status.
private func terminate(_ status: Int32) -> Never {
    exit(status)
}

/// Why the server cannot start, in one line.
struct StartupError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension FrameSize: ExpressibleByArgument {}

/// `--idle-timeout 30`, or `--idle-timeout never`.
struct IdleTimeout: ExpressibleByArgument, Equatable {
    /// Seconds, or `nil` for never.
    var seconds: Double?

    init(seconds: Double?) {
        self.seconds = seconds
    }

    init?(argument: String) {
        if argument == "never" {
            seconds = nil
        } else if let value = Double(argument), value.isFinite {
            seconds = value
        } else {
            return nil
        }
    }
}
extension Logger.Level: @retroactive ExpressibleByArgument {}
