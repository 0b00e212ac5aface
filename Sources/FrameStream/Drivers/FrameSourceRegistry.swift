public import class Foundation.ProcessInfo

/// The camera drivers a program can choose from by name, as the `CAMERA` environment variable does.
///
/// ``standard`` holds the drivers of this library. A program adds its own with ``register(_:aliases:summary:make:)``:
///
/// ```swift
/// var drivers = FrameSourceRegistry.standard
/// drivers.register("noise", summary: "random pixels") { _ in NoiseCamera() }
/// let source = try drivers.makeSource(named: ProcessInfo.processInfo.environment["CAMERA"], options: CameraOptions())
/// ```
public struct FrameSourceRegistry: Sendable {
    /// Makes a driver's frame source from the user's options, or throws an error that says what to fix.
    public typealias Factory = @Sendable (CameraOptions) throws -> any FrameSource

    /// One registered driver.
    public struct Driver: Sendable {
        /// The name users give to select it.
        public let name: String
        /// Other names that select it too, such as `opencv` for `v4l2`.
        public let aliases: [String]
        /// One line on what it is, for `--help` and error messages.
        public let summary: String
        /// Makes the driver's frame source.
        public let make: Factory
    }

    /// The environment variable that selects a driver: `CAMERA`.
    public static let environmentVariable = "CAMERA"
    /// The driver used when none is named: `emulated`.
    public static let defaultDriverName = "emulated"

    private var driversByName: [String: Driver] = [:]
    private var order: [String] = []

    /// A registry with no drivers.
    public init() {}

    /// The drivers of this library.
    public static var standard: FrameSourceRegistry {
        var registry = FrameSourceRegistry()
        registry.register(
            "emulated",
            summary: "repeats three numbered test images (or a folder of JPEGs) at 1 frame per second"
        ) { options in
            try EmulatedCamera(configuration: EmulatedCamera.Configuration(options: options))
        }
        #if FRAMESTREAM_V4L2
        registry.register(
            "v4l2",
            aliases: ["opencv", "usb", "webcam"],
            summary: "a USB webcam or other V4L2 device (--device, default /dev/video0)"
        ) { options in
            try V4L2Camera(configuration: V4L2Camera.Configuration(options: options), logger: options.logger)
        }
        #endif
        registry.register(
            "pi",
            aliases: ["picamera", "rpicam", "libcamera"],
            summary: "the Raspberry Pi camera through rpicam-vid (or libcamera-vid)"
        ) { options in
            try PiCamera(configuration: PiCamera.Configuration(options: options), logger: options.logger)
        }
        registry.register(
            "pipe",
            aliases: ["command"],
            summary: "any command that writes MJPEG to standard output (--command \"ffmpeg ... -f mjpeg -\")"
        ) { options in
            guard let command = options.command else {
                throw CameraError.invalidOption(
                    name: "command",
                    value: "",
                    expected: "--command with a shell command that writes MJPEG to standard output"
                )
            }
            return try PipeCamera(
                configuration: .init(
                    command: command,
                    maximumFrameBytes: options.maximumFrameBytes ?? JPEGStreamSplitter.defaultMaximumFrameBytes
                ),
                logger: options.logger
            )
        }
        registry.register(
            "testpattern",
            summary: "a moving test pattern with frame number and time, any size and rate (default 640x480, 30 fps)"
        ) { options in
            try TestPatternCamera(configuration: TestPatternCamera.Configuration(options: options))
        }
        return registry
    }

    /// The registered drivers, in the order they were registered.
    public var drivers: [Driver] { order.map { driversByName[$0]! } }

    /// The names users can select drivers by, aliases included, sorted.
    public var names: [String] { driversByName.keys.sorted() }

    /// Adds a driver, replacing any driver that had one of the same names.
    /// - Parameters:
    ///   - name: the name that selects it; matched without regard to case.
    ///   - aliases: other names that select it.
    ///   - summary: one line on what it is.
    ///   - make: makes its frame source from the user's options.
    public mutating func register(
        _ name: String,
        aliases: [String] = [],
        summary: String,
        make: @escaping Factory
    ) {
        let driver = Driver(
            name: name.lowercased(),
            aliases: aliases.map { $0.lowercased() },
            summary: summary,
            make: make
        )
        for key in [driver.name] + driver.aliases {
            driversByName[key] = driver
        }
        order.removeAll { $0 == driver.name }
        order.append(driver.name)
    }

    /// The driver a name selects, if any.
    public func driver(named name: String) -> Driver? {
        driversByName[name.lowercased()]
    }

    /// Makes the frame source of the named driver.
    /// - Parameters:
    ///   - name: a driver's name or alias; ``defaultDriverName`` when `nil` or empty.
    ///   - options: the user's options for the driver.
    /// - Throws: ``FrameSourceRegistryError/unknownDriver(_:known:)`` for a name no driver has, or the driver's own
    ///   error when it cannot be made with these options.
    public func makeSource(named name: String?, options: CameraOptions = CameraOptions()) throws -> any FrameSource {
        let name = (name?.isEmpty ?? true) ? Self.defaultDriverName : name!
        guard let driver = driver(named: name) else {
            throw FrameSourceRegistryError.unknownDriver(name, known: names)
        }
        return try driver.make(options)
    }

    /// Makes the frame source of the driver that the `CAMERA` environment variable names (`emulated` if unset).
    public func makeSourceFromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        options: CameraOptions = CameraOptions()
    ) throws -> any FrameSource {
        try makeSource(named: environment[Self.environmentVariable], options: options)
    }
}
