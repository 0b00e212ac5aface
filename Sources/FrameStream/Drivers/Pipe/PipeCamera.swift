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
        /// The largest image accepted, in bytes.
        public var maximumFrameSize: Int
        /// How long the command may write no image before it counts as stuck and is restarted.
        public var stallTimeout: Duration

        /// Creates a configuration.
        public init(
            command: String,
            environment: [String: String] = [:],
            maximumFrameSize: Int = 16 << 20,
            stallTimeout: Duration = .seconds(10)
        ) {
            self.command = command
            self.environment = environment
            self.maximumFrameSize = maximumFrameSize
            self.stallTimeout = stallTimeout
        }
    }

    /// The command and its limits.
    public let configuration: Configuration
    private let logger: Logger

    /// Creates the camera; the command starts when the camera starts.
    /// - Parameters:
    ///   - configuration: the command.
    ///   - logger: where the command's standard error goes, at notice level.
    /// - Throws: ``CameraError/invalidOption(name:value:expected:)`` for an empty command.
    public init(configuration: Configuration, logger: Logger) throws {
        guard !configuration.command.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CameraError.invalidOption(name: "command", value: "", expected: "a command that writes MJPEG")
        }
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the command and yields its images until it ends or the iteration is cancelled.
    public func frames() -> CapturedFrames {
        let configuration = self.configuration
        let logger = self.logger
        return CapturedFrames(name: "pipe camera") { sink in
            try PipeCapture(configuration: configuration, logger: logger).run(sink)
        }
    }

    /// One run of the command.

}

/// One run of a command on its capture thread.
struct PipeCapture {
    let configuration: PipeCamera.Configuration
    let logger: Logger

    func run(_ sink: CaptureSink) throws {
        let child = try ChildProcess(command: configuration.command, environment: configuration.environment)
        defer { child.stop() }
        var splitter = JPEGStreamSplitter(maximumFrameSize: configuration.maximumFrameSize)
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
                throw PipeCameraError.noImages(
                    configuration.command,
                    seconds: Int(configuration.stallTimeout.components.seconds)
                )
            }
            guard ready else { continue }
            if descriptors[0].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(child.output, $0.baseAddress, $0.count) }
                if count > 0 {
                    chunk.withUnsafeBytes { splitter.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    while let image = splitter.nextImage() {
                        lastImage = ContinuousClock.now
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
                                logger.notice("camera command: \(line)")
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
