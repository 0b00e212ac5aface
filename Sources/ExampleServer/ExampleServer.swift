public import ArgumentParser
import FrameStream
import FrameStreamHTTP
import FrameStreamRecording
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
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
            /cameras/NAME/ with its own stream, video_feed, snapshot.jpg, status and controls (V4L2 cameras).

            With --config FILE the cameras come from a YAML file (see the README); flags given on the command line \
            override the file's values, for every camera.

            With users (--user, --users-file or users: in the file) every address but /healthz needs a user name \
            and password; make a password's hash with `ExampleServer hash-password`.
            """,
        subcommands: [HashPassword.self, Relay.self]
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

    @Option(help: "Turn every frame clockwise by 90, 180 or 270 degrees (after --flip); 0 for none.")
    var rotate: Int?

    @Option(help: "Mirror every frame: horizontal, vertical or none (before --rotate).")
    var flip: String?

    @Option(
        help: """
            What viewers see while a camera has no picture (starting, failed, no signal): on (default, a picture \
            that says why), off, or a JPEG file to show instead.
            """
    )
    var placeholder: String?

    @Option(
        name: .customLong("user"),
        help: """
            A user who may watch, as NAME:HASH with a bcrypt hash from `ExampleServer hash-password` (repeatable). \
            --users-file keeps the hashes out of the process list.
            """
    )
    var users: [String] = []

    @Option(help: "A file of users, one NAME:HASH per line (as `htpasswd -B` writes them).")
    var usersFile: String?

    @Option(help: "The TLS certificate chain (PEM): serves HTTPS, with HTTP/2 and HTTP/1.1, instead of HTTP.")
    var tlsCert: String?

    @Option(help: "The TLS private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "A file with the key of signed links; made (readable by this user only) if it does not exist.")
    var signingKeyFile: String?

    @Option(help: "Lets pages of another web site fetch from this server (CORS): * or an origin such as https://a.b.")
    var allowOrigin: String?

    @Option(help: "The most open streams from one client address (default: no limit); more get 429.")
    var maxStreamsPerAddress: Int?

    @Option(help: "Record every camera into this folder (its files in DIR/NAME/), for playback and export.")
    var record: String?

    @Option(help: "The last seconds (30s) or megabytes (100MB) kept in memory to pause and rewind live; off for none.")
    var timeshift: String?

    @Option(
        help: """
            Serve /metrics on a listener of its own at this address (default: 127.0.0.1 with --metrics-port), \
            without users; otherwise /metrics is on the main port, behind the same users as everything else.
            """
    )
    var metricsHost: String?

    @Option(help: "The port of the /metrics listener (see --metrics-host); 0 picks a free one.")
    var metricsPort: Int?

    @Flag(
        help: """
            Ask the running server these flags (and --config) describe for /healthz, instead of serving: exit 0 if \
            it answers, 1 with the reason if not. For container health checks.
            """
    )
    var check = false

    @Option(
        name: .customLong("control"),
        help: "A camera control to set at every start, as NAME=VALUE (repeatable), such as --control brightness=10."
    )
    var controls: [String] = []

    @Flag(help: "List the V4L2 capture devices (or only --device) with their formats, sizes and rates, and exit.")
    var listDevices = false

    @Option(help: "Log level (default: info): trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level?

    static var drivers: FrameSourceRegistry { .standardWithHTTP }

    /// Checks the flags' own values, so that a bad one is named as the flag it came from.
    func validate() throws {
        var server = ServerConfiguration(cameras: [CameraConfiguration(name: name ?? "camera", driver: "")])
        apply(to: &server)
        for user in users where ServerAccess.userEntry(user) == nil {
            throw ValidationError("--user must be NAME:HASH, with a hash from `ExampleServer hash-password`")
        }
        if let control = controls.first(where: { ControlSettings.parse($0) == nil }) {
            throw ValidationError("--control must be \(ControlSettings.expected); not '\(control)'")
        }
        if let timeshift, TimeshiftSetting(timeshift) == nil {
            throw ValidationError("--timeshift must be a time such as 30s, a size such as 100MB, or off")
        }
        if metricsHost != nil, metricsPort == nil {
            throw ValidationError("--metrics-host goes with --metrics-port: give the listener's port too")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both, or neither")
        }
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
    /// - Parameters:
    ///   - environment: where `CAMERA` is read from.
    ///   - cameras: the cameras, if not from `--config` or `--camera` (a relay's, from `--origin`).
    func serverConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cameras: [CameraConfiguration]? = nil
    ) throws(StartupError) -> ServerConfiguration {
        var server: ServerConfiguration
        if let cameras {
            server = ServerConfiguration(cameras: cameras)
        } else if let config {
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
        if let usersFile {
            server.users.merge(try ServerAccess.usersFile(usersFile)) { _, fromFile in fromFile }
        }
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
        for user in users {
            if let (name, hash) = ServerAccess.userEntry(user) { server.users[name] = hash }
        }
        if let tlsCert, let tlsKey { server.tls = .init(certificate: tlsCert, key: tlsKey) }
        if let signingKeyFile {
            server.signingKeyFile = signingKeyFile
            server.signingKey = nil
        }
        if let allowOrigin { server.allowOrigin = allowOrigin }
        if let maxStreamsPerAddress { server.maxStreamsPerAddress = maxStreamsPerAddress }
        if let metricsHost { server.metricsHost = metricsHost }
        if let metricsPort { server.metricsPort = metricsPort }
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
        if let rotate { camera.rotate = rotate }
        if let flip { camera.flip = flip.lowercased() }
        if let idleTimeout { camera.idleTimeout = idleTimeout.seconds }
        if let maxClients { camera.maxClients = maxClients }
        if let maxFps { camera.maxFps = maxFps }
        if let heartbeat { camera.heartbeat = heartbeat }
        if let stallTimeout { camera.stallTimeout = stallTimeout }
        if let record {
            if camera.record == nil {
                camera.record = RecordingSettings(path: record)
            } else {
                camera.record?.path = record
            }
        }
        if let timeshift, let setting = TimeshiftSetting(timeshift) { camera.timeshift = setting }
        if let placeholder { camera.placeholder = placeholder }
        for control in controls {
            if let (name, value) = ControlSettings.parse(control) { camera.controls[name] = value }
        }
    }

    /// `--max-fps` for the key `maxFps`.
    static func flag(forKey key: String) -> String {
        switch key {
        case "users": return "--user"
        case "tls": return "--tls-cert"
        case "controls": return "--control"
        default: break
        }
        return "--"
            + key.reduce(into: "") { flag, character in
                if character.isUppercase { flag += "-" + character.lowercased() } else { flag.append(character) }
            }
    }

    /// The camera's timeshift ring, if it keeps one.
    static func timeshift(_ setting: TimeshiftSetting, of broadcaster: FrameBroadcaster) -> TimeshiftBuffer? {
        switch setting {
        case .off:
            return nil
        case .seconds(let seconds):
            return TimeshiftBuffer(
                broadcaster: broadcaster,
                configuration: .init(duration: .seconds(seconds), maxBytes: TimeshiftSetting.defaultMaxBytes)
            )
        case .bytes(let bytes):
            return TimeshiftBuffer(
                broadcaster: broadcaster,
                configuration: .init(duration: .seconds(86_400), maxBytes: Int(clamping: bytes))
            )
        }
    }

    /// The store of a recording folder, opened (and repaired) once for all cameras that record there.
    static func store(
        for settings: RecordingSettings,
        server: ServerConfiguration,
        stores: inout [String: RecordingStore],
        logger: Logger
    ) throws(StartupError) -> RecordingStore {
        if let store = stores[settings.path] { return store }
        var configuration = RecordingStore.Configuration(maxTotalBytes: server.recordingsMaxBytes)
        switch settings.minFree {
        case .bytes(let bytes): configuration.minFreeBytes = bytes
        case .fraction(let fraction): configuration.minFreeFraction = fraction
        case nil: break
        }
        do {
            let store = try RecordingStore(folder: settings.path, configuration: configuration, logger: logger)
            stores[settings.path] = store
            return store
        } catch {
            throw StartupError("cannot record into \(settings.path): \(error)")
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
        let environment = ProcessInfo.processInfo.environment
        try await serve(serverConfiguration(environment: environment), environment: environment)
    }

    /// Serves `server` until SIGTERM or SIGINT, or with `--check` asks the server it describes for `/healthz`.
    /// - Throws: ``StartupError`` for what stops it from starting.
    func serve(_ server: ServerConfiguration, environment: [String: String]) async throws {
        if check {
            try await HealthCheck.check(HealthCheck.address(of: server))
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = server.logLevel
            return handler
        }
        let logger = Logger(label: "FrameStream")
        let metrics = ServerMetrics()
        var services: [any Service] = []
        var cameras: [MJPEGCameraIndex.Camera] = []
        var stores: [String: RecordingStore] = [:]
        let sources = try Self.makeSources(for: server, file: config, logger: logger)
        var watched: [(source: any FrameSource, broadcaster: FrameBroadcaster)] = []
        try await ControlSettings.check(sources, file: config)
        for (camera, source, cameraLogger) in sources {
            let broadcaster = FrameBroadcaster(
                source: source,
                driverName: camera.driver,
                configuration: .init(
                    idleTimeout: camera.idleTimeout.map { .seconds($0) },
                    heartbeatInterval: .seconds(camera.heartbeat),
                    placeholders: try camera.placeholders(),
                    orientation: camera.orientation
                ),
                logger: cameraLogger,
                metricsFactory: metrics.factory
            )
            watched.append((source, broadcaster))
            var archive = CameraArchive(timeshift: Self.timeshift(camera.timeshift, of: broadcaster))
            if let settings = camera.record {
                let store = try Self.store(for: settings, server: server, stores: &stores, logger: logger)
                let recorder = FrameRecorder(
                    camera: camera.name,
                    broadcaster: broadcaster,
                    store: store,
                    configuration: .init(
                        segmentDuration: .seconds(settings.segment),
                        durability: .seconds(settings.durability),
                        keep: RetentionLimits(
                            maxAge: settings.keepDays.map { .seconds($0 * 86_400) },
                            maxBytes: settings.keepBytes
                        )
                    ),
                    logger: cameraLogger
                )
                archive.recording = recorder
                services.append(recorder)
            }
            let endpoints = MJPEGEndpoints(
                broadcaster: broadcaster,
                archive: archive,
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
        let access = CameraAccess(
            users: ServerAccess.users(server),
            signingKey: try ServerAccess.signingKey(server, logger: logger),
            configuration: .init(
                loginThrottle: .init(
                    maxFailures: server.lockoutFailures,
                    window: .seconds(server.lockoutWindow),
                    lockout: .seconds(server.lockoutDuration)
                ),
                maxStreamsPerAddress: server.maxStreamsPerAddress
            ),
            logger: logger
        )
        for warning in Self.accessWarnings(server) { logger.warning("\(warning)") }
        let router = Router(context: CameraRequestContext.self)
        // A line per request once answered (streams log theirs when they end), in front of every route.
        router.add(middleware: AccessLogMiddleware())
        if let origin = server.allowOrigin {
            let allowed: CORSMiddleware<CameraRequestContext>.AllowOriginExtended =
                origin == "*" ? .all : .custom(origin)
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: allowed,
                    allowHeaders: [.authorization],
                    // POST for the playback controls; the frame's time is readable by the page.
                    allowMethods: [.get, .head, .post],
                    allowCredentials: origin != "*",
                    exposedHeaders: ["X-Timestamp"]
                )
            )
        }
        // For load balancers and service managers: open to all, and says nothing about the cameras but whether the
        // servers that cameras are relayed from answer.
        let health = UpstreamHealth(watched)
        router.get("healthz") { _, _ in await Self.healthResponse(healthy: health.isHealthy(), body: true) }
        router.head("healthz") { _, _ in await Self.healthResponse(healthy: health.isHealthy(), body: false) }
        let cameraRoutes = router.group().add(middleware: access.middleware(for: index))
        if let metricsPort = server.metricsPort {
            services.append(metrics.listener(host: server.metricsHost, port: metricsPort, logger: logger))
        } else {
            metrics.addRoutes(to: cameraRoutes)
        }
        cameraRoutes.addRoutes(index.routes(context: CameraRequestContext.self))
        cameraRoutes.addRoutes(access.linkRoutes(for: index))
        let names = cameras.map(\.name)
        // Hummingbird's idle timeout counts from the last request part: it is also the time allowed for a request's
        // head, so a client that trickles its headers is closed too.
        let requestTimeout = TimeAmount.nanoseconds(Int64(server.requestTimeout * 1e9))
        let channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: MJPEGEndpoints.connectionHandlers(limit: limit),
            idleTimeout: requestTimeout
        )
        let childChannel: @Sendable (@escaping HTTPChannelHandler.Responder) throws -> any ServerChildChannel
        var certificates: CertificateReloader?
        if let files = server.tls {
            let reloader = try CertificateReloader(files: files, logger: logger)
            certificates = reloader
            childChannel = { responder in
                TLSHandshakeDeadline(
                    base: try HTTP2UpgradeChannel(
                        tlsConfiguration: reloader.tlsConfiguration,
                        configuration: .init(
                            idleTimeout: .nanoseconds(requestTimeout.nanoseconds),
                            streamConfiguration: channel
                        ),
                        responder: responder
                    ),
                    deadline: requestTimeout
                )
            }
        } else {
            childChannel = { responder in HTTP1Channel(responder: responder, configuration: channel) }
        }
        let scheme = server.tls == nil ? "http" : "https"
        let systemd = SystemdService(
            environment: environment,
            cameras: cameras,
            // Recorded cameras start with the server; the others (idleTimeout: never too) with their first viewer.
            mustStream: Set(server.cameras.filter { $0.record != nil }.map(\.name)),
            logger: logger
        )
        let activated = try SocketActivation.listeningSocket(environment: environment)
        let onServerRunning: @Sendable (any Channel) async -> Void = { channel in
            let port = channel.localAddress?.port ?? 0
            let what =
                names.count == 1
                ? "camera '\(names[0])'" : "\(names.count) cameras (\(names.joined(separator: ", ")))"
            let host = activated == nil ? server.host : channel.localAddress?.ipAddress ?? server.host
            let passed = activated == nil ? "" : " on the socket systemd passed"
            logger.notice(
                "serving \(what) at \(Self.address(scheme: scheme, host: host, port: port))\(passed) (press Ctrl-C to stop)"
            )
            systemd.serverIsListening()
        }
        services += [
            MemoryTrimmer(connections: limit), HangupHandler(certificates: certificates, logger: logger), systemd,
        ]
        let main: any Service
        if let activated {
            let responder = SocketActivation.responder(
                router.buildResponder(),
                serverName: "FrameStream",
                logger: logger
            )
            let server = SocketActivation.server(
                socket: activated,
                childChannel: try childChannel(responder),
                onServerRunning: onServerRunning,
                logger: logger
            )
            main = ServiceGroup(configuration: .init(services: services + [server], logger: logger))
        } else {
            var app = Application(
                router: router,
                server: HTTPServerBuilder(childChannel),
                configuration: .init(address: .hostname(server.host, port: server.port), serverName: "FrameStream"),
                onServerRunning: onServerRunning,
                logger: logger
            )
            app.addServices(services)
            main = app
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [main],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// `/healthz`'s answer: `200 ok`, or `503` when a relayed camera's upstream cannot be reached.
    static func healthResponse(healthy: Bool, body: Bool) -> Response {
        let text = healthy ? "ok\n" : "unavailable: the server a camera is relayed from does not answer\n"
        return Response(
            status: healthy ? .ok : .serviceUnavailable,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: body ? ResponseBody(byteBuffer: ByteBuffer(string: text)) : ResponseBody()
        )
    }

    /// Where a person can open the server: `http://127.0.0.1:5000/`, or for a wildcard address the port on every
    /// interface with a local address to try.
    static func address(scheme: String = "http", host: String, port: Int) -> String {
        switch host {
        case "0.0.0.0", "::", "[::]", "*":
            "\(scheme)://<this machine's address>:\(port)/ (all interfaces; on this machine \(scheme)://127.0.0.1:\(port)/)"
        default:
            host.contains(":") ? "\(scheme)://[\(host)]:\(port)/" : "\(scheme)://\(host):\(port)/"
        }
    }

    /// What to tell at start about a server reachable from other machines without users or without TLS.
    static func accessWarnings(_ server: ServerConfiguration) -> [String] {
        guard !ServerAccess.isLoopback(server.host) else { return [] }
        if server.users.isEmpty {
            return [
                "no users are configured and the server listens on \(server.host): anyone who can reach it can watch "
                    + "the cameras (add users: see the README)"
            ]
        }
        if server.tls == nil {
            return [
                "users are configured but TLS is not: passwords and pictures cross the network unencrypted "
                    + "(add tls: or --tls-cert and --tls-key)"
            ]
        }
        return []
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
