public import Logging

/// The options a user can give any camera driver, as they come from a command line or the environment.
///
/// Each driver reads the options it understands and ignores the rest; drivers also offer a typed configuration
/// of their own for use from Swift. Options a third-party driver needs go in ``extra``.
public struct CameraOptions: Sendable {
    /// The device to open, such as `/dev/video0`.
    public var device: String?
    /// The frame size to ask the camera for.
    public var size: FrameSize?
    /// The camera's own frame rate, in frames per second.
    public var framesPerSecond: Double?
    /// JPEG quality, 1 to 100, for drivers that encode.
    public var quality: Int?
    /// A folder of JPEG files, for the emulated camera.
    public var framesDirectory: String?
    /// A shell command that writes Motion-JPEG to its standard output.
    public var command: String?
    /// The address of an upstream stream.
    public var url: String?
    /// The largest JPEG image accepted, in bytes, for drivers that cut images out of a stream (`pipe`, `picamera`,
    /// `http`); 16 MiB (``JPEGStreamSplitter/defaultMaximumFrameBytes``) when not given. Larger images are
    /// dropped, and the camera fails with an error that gives their size.
    public var maximumFrameBytes: Int?
    /// Control values (brightness, exposure, focus, …) to set each time the camera starts, by name, for drivers
    /// with controls (``CameraControls``, such as `v4l2`); see ``CameraControl`` for the names.
    public var controls: [String: Int]
    /// Options of drivers defined outside this library, by name.
    public var extra: [String: String]
    /// Where drivers log what their camera says (a child process's standard error, for example); nothing by
    /// default.
    public var logger: Logger

    /// Creates options; every option not given is left to the driver's default.
    public init(
        device: String? = nil,
        size: FrameSize? = nil,
        framesPerSecond: Double? = nil,
        quality: Int? = nil,
        framesDirectory: String? = nil,
        command: String? = nil,
        url: String? = nil,
        maximumFrameBytes: Int? = nil,
        controls: [String: Int] = [:],
        extra: [String: String] = [:],
        logger: Logger = Logger(label: "FrameStream", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.device = device
        self.size = size
        self.framesPerSecond = framesPerSecond
        self.quality = quality
        self.framesDirectory = framesDirectory
        self.command = command
        self.url = url
        self.maximumFrameBytes = maximumFrameBytes
        self.controls = controls
        self.extra = extra
        self.logger = logger
    }
}

extension CameraOptions: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The options given, with passwords in `url` and `command` shown as `***`.
    public var description: String {
        let shownControls = controls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let fields: [(String, String?)] = [
            ("device", device), ("size", size?.description), ("framesPerSecond", framesPerSecond.map { "\($0)" }),
            ("quality", quality.map(String.init)), ("framesDirectory", framesDirectory),
            ("command", command.map(CredentialRedaction.redacting)), ("url", url.map(CredentialRedaction.redacting)),
            ("maximumFrameBytes", maximumFrameBytes.map(String.init)),
            ("controls", shownControls.isEmpty ? nil : shownControls.joined(separator: " ")),
        ]
        let given = fields.compactMap { name, value in value.map { "\(name): \($0)" } }
        return "CameraOptions(" + given.joined(separator: ", ") + ")"
    }

    /// The same as ``description``: no password in debug output either.
    public var debugDescription: String { description }

    /// The options, redacted, for `dump` and debuggers.
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }
}
