import Foundation
public import Logging

/// The Raspberry Pi camera on current Raspberry Pi OS (the libcamera stack), through `rpicam-vid`, or
/// `libcamera-vid` on older systems, writing Motion-JPEG to standard output.
///
/// It is a ``PipeCamera`` with the command written for you:
/// `rpicam-vid -t 0 --codec mjpeg --width W --height H --framerate F -q Q --nopreview -o -`.
/// On a Pi whose camera shows up as a V4L2 device (older firmware with the legacy stack, or a USB camera), the
/// `v4l2` driver works too.
public struct PiCamera: FrameSource {
    /// Size, rate and quality of the camera's JPEGs.
    public struct Configuration: Sendable, Hashable {
        /// The frame size.
        public var size: FrameSize
        /// Frames per second.
        public var framesPerSecond: Double
        /// JPEG quality, 1 to 100.
        public var quality: Int
        /// More arguments for `rpicam-vid`, such as `--hflip` or `--rotation 180`.
        public var extraArguments: [String]
        /// Variables added to the command's environment.
        public var environment: [String: String]
        /// The largest image accepted, in bytes (``PipeCamera/Configuration/maximumFrameBytes``).
        public var maximumFrameBytes: Int

        /// Creates a configuration: 640x480 at 30 fps, quality 80, unless told otherwise.
        public init(
            size: FrameSize = FrameSize(width: 640, height: 480),
            framesPerSecond: Double = 30,
            quality: Int = 80,
            extraArguments: [String] = [],
            environment: [String: String] = [:],
            maximumFrameBytes: Int = JPEGStreamSplitter.defaultMaximumFrameBytes
        ) {
            self.size = size
            self.framesPerSecond = framesPerSecond
            self.quality = quality
            self.extraArguments = extraArguments
            self.environment = environment
            self.maximumFrameBytes = maximumFrameBytes
        }

        /// Reads ``CameraOptions/size``, ``CameraOptions/framesPerSecond``, ``CameraOptions/quality`` and
        /// ``CameraOptions/maximumFrameBytes``.
        public init(options: CameraOptions) {
            self.init()
            if let size = options.size { self.size = size }
            if let fps = options.framesPerSecond { framesPerSecond = fps }
            if let quality = options.quality { self.quality = quality }
            if let maximumFrameBytes = options.maximumFrameBytes { self.maximumFrameBytes = maximumFrameBytes }
        }
    }

    /// Size, rate and quality.
    public let configuration: Configuration
    private let pipe: PipeCamera

    /// Creates the camera; `rpicam-vid` starts when the camera starts.
    /// - Parameters:
    ///   - configuration: size, rate and quality.
    ///   - logger: where the camera program's messages go.
    public init(configuration: Configuration = Configuration(), logger: Logger) throws {
        try CameraError.checkFrameRate(configuration.framesPerSecond)
        try CameraError.checkQuality(configuration.quality)
        self.configuration = configuration
        self.pipe = try PipeCamera(
            configuration: .init(
                command: Self.command(for: configuration),
                environment: configuration.environment,
                maximumFrameBytes: configuration.maximumFrameBytes
            ),
            logger: logger
        )
    }

    /// The shell command that runs the camera.
    public var command: String { pipe.configuration.command }

    /// Runs the camera program and yields its JPEGs.
    public func frames() -> CapturedFrames {
        pipe.frames()
    }

    static func command(for configuration: Configuration) -> String {
        let fps =
            configuration.framesPerSecond.rounded() == configuration.framesPerSecond
            ? "\(Int(configuration.framesPerSecond))" : "\(configuration.framesPerSecond)"
        let arguments =
            [
                "-t", "0", "--codec", "mjpeg", "--width", "\(configuration.size.width)",
                "--height", "\(configuration.size.height)", "--framerate", fps, "-q", "\(configuration.quality)",
                "--nopreview", "-o", "-",
            ] + configuration.extraArguments
        let quoted = arguments.map(shellQuoted).joined(separator: " ")
        return "if command -v rpicam-vid >/dev/null 2>&1; then exec rpicam-vid \(quoted); "
            + "elif command -v libcamera-vid >/dev/null 2>&1; then exec libcamera-vid \(quoted); "
            + "else echo 'neither rpicam-vid nor libcamera-vid is installed: sudo apt install rpicam-apps' >&2; "
            + "exit 127; fi"
    }

    private static func shellQuoted(_ argument: String) -> String {
        let safe = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:".contains($0) }
        return safe ? argument : "'" + argument.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
