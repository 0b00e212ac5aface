import Foundation
public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Any command that writes Motion-JPEG (concatenated JPEG images) to its standard output, such as
/// `ffmpeg -f v4l2 -i /dev/video0 -f mjpeg -q:v 5 -`.
///
/// The command runs in a shell, in a process group of its own, only while the camera runs: stopping the camera
/// ends the whole group (SIGTERM, then SIGKILL) and reaps it, so nothing is left behind. Images are cut out of the
/// output by their JPEG structure, skipping anything else it writes. The command's standard error goes to the log,
/// line by line. If the command ends, the camera fails with its exit status and last message, and the broadcaster
/// starts it again after a backoff.
public struct PipeCamera: FrameSource {
    /// The command and its limits.
    public struct Configuration: Sendable, Hashable {
        /// The shell command.
        public var command: String
        /// Variables added to the command's environment.
        public var environment: [String: String]
        /// The largest image accepted, in bytes: 16 MiB by default (``JPEGStreamSplitter/defaultMaximumFrameBytes``).
        /// Larger images are dropped, with a warning in the log; if no image fits for ``stallTimeout``, the camera
        /// fails with ``PipeCameraError/frameTooLarge(_:bytes:limit:)``, which gives the size to raise it to.
        public var maximumFrameBytes: Int
        /// How long the command may write no image before it counts as stuck and is restarted.
        public var stallTimeout: Duration

        /// Creates a configuration.
        public init(
            command: String,
            environment: [String: String] = [:],
            maximumFrameBytes: Int = JPEGStreamSplitter.defaultMaximumFrameBytes,
            stallTimeout: Duration = .seconds(10)
        ) {
            self.command = command
            self.environment = environment
            self.maximumFrameBytes = maximumFrameBytes
            self.stallTimeout = stallTimeout
        }
    }

    /// The command and its limits.
    public let configuration: Configuration
    private let logger: Logger
    /// Holds back the command's standard error lines and dropped-image warnings that repeat, across runs.
    private let repetitions = LogRepetitionLimiter(clock: FrameClock(ContinuousClock()))

    /// Creates the camera; the command starts when the camera starts.
    /// - Parameters:
    ///   - configuration: the command.
    ///   - logger: where the command's standard error goes, at notice level.
    /// - Throws: ``CameraError/invalidOption(name:value:expected:)`` for an empty command or a frame limit below
    ///   1 KiB.
    public init(configuration: Configuration, logger: Logger) throws {
        guard !configuration.command.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CameraError.invalidOption(name: "command", value: "", expected: "a command that writes MJPEG")
        }
        guard configuration.maximumFrameBytes >= 1024 else {
            throw CameraError.invalidOption(
                name: "maximumFrameBytes",
                value: "\(configuration.maximumFrameBytes)",
                expected: "at least 1024 bytes, such as 16777216 (16 MiB)"
            )
        }
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the command and yields its images until it ends or the iteration is cancelled.
    public func frames() -> CapturedFrames {
        let configuration = self.configuration
        let logger = self.logger
        let repetitions = self.repetitions
        return CapturedFrames(name: "pipe camera") { sink in
            try PipeCapture(configuration: configuration, logger: logger, repetitions: repetitions).run(sink)
        }
    }
}

/// One run of a command on its capture thread.
struct PipeCapture {
    let configuration: PipeCamera.Configuration
    let logger: Logger
    let repetitions: LogRepetitionLimiter

    func run(_ sink: CaptureSink) throws {
        let child = try ChildProcess(command: configuration.command, environment: configuration.environment)
        defer { child.stop() }
        var splitter = JPEGStreamSplitter(maximumFrameBytes: configuration.maximumFrameBytes)
        /// The last image dropped for its size since the last image delivered: the reason for a stall.
        var oversized: JPEGStreamSplitter.DroppedImage?
        var errorLine: [UInt8] = []
        var lastMessage: String?
        var outputOpen = true
        var errorOpen = true
        var lastImage = ContinuousClock.now
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !sink.isStopping && (outputOpen || errorOpen) {
            var descriptors = [
                pollfd(fd: outputOpen ? child.output : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errorOpen ? child.errorOutput : -1, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, 100) > 0
            if ContinuousClock.now - lastImage > configuration.stallTimeout {
                if case .tooLarge(let bytes, let limit) = oversized {
                    throw PipeCameraError.frameTooLarge(configuration.command, bytes: bytes, limit: limit)
                }
                throw PipeCameraError.noImages(configuration.command, after: configuration.stallTimeout)
            }
            guard ready else { continue }
            if descriptors[0].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(child.output, $0.baseAddress, $0.count) }
                if count > 0 {
                    let oversizedBefore = splitter.oversizedImages
                    chunk.withUnsafeBytes { splitter.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    if splitter.oversizedImages != oversizedBefore, let drop = splitter.lastDrop {
                        oversized = drop
                        repetitions.log(
                            "camera command: dropped a \(drop): raise maximumFrameBytes",
                            level: .warning,
                            to: logger
                        )
                    }
                    while let image = splitter.nextImage() {
                        lastImage = ContinuousClock.now
                        oversized = nil
                        sink.deliver(JPEGImage(bytes: image))
                    }
                } else if count == 0 || errno != EINTR {
                    outputOpen = false
                }
            }
            if descriptors[1].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(child.errorOutput, $0.baseAddress, $0.count) }
                if count > 0 {
                    for byte in chunk[..<count] {
                        if byte == 10 {
                            let line = String(decoding: errorLine, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                            if !line.isEmpty {
                                repetitions.log(
                                    "camera command: \(CredentialRedaction.redacting(line))",
                                    level: .notice,
                                    to: logger
                                )
                                lastMessage = line
                            }
                            errorLine.removeAll(keepingCapacity: true)
                        } else if errorLine.count < 4096 {
                            errorLine.append(byte)
                        }
                    }
                } else if count == 0 || errno != EINTR {
                    errorOpen = false
                }
            }
        }
        if sink.isStopping { return }
        if !errorLine.isEmpty { lastMessage = String(decoding: errorLine, as: UTF8.self) }
        child.stop()
        throw PipeCameraError.commandExited(
            configuration.command,
            status: child.exitCode() ?? -1,
            lastMessage: lastMessage
        )
    }
}
