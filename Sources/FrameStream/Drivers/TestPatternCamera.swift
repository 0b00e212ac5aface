public import struct Foundation.Date

/// A synthetic camera for demos and benchmarks: a moving pattern with the frame number and the capture time drawn
/// on it, at any size and rate, encoded with libturbojpeg.
///
/// Each JPEG also carries its capture time in a comment segment (`FF FE`), as `FSTS:<Unix time in nanoseconds>`,
/// so any client can measure the latency from capture to display without trusting headers.
public struct TestPatternCamera: FrameSource {
    /// Size, rate and quality of the pattern.
    public struct Configuration: Sendable, Hashable {
        /// The frame size.
        public var size: FrameSize
        /// Frames per second.
        public var framesPerSecond: Double
        /// JPEG quality, 1 to 100.
        public var quality: Int

        /// Creates a configuration: 640x480 at 30 frames per second, quality 80, unless told otherwise.
        public init(
            size: FrameSize = FrameSize(width: 640, height: 480),
            framesPerSecond: Double = 30,
            quality: Int = 80
        ) {
            self.size = size
            self.framesPerSecond = framesPerSecond
            self.quality = quality
        }

        /// Reads ``CameraOptions/size``, ``CameraOptions/framesPerSecond`` and ``CameraOptions/quality``.
        public init(options: CameraOptions) {
            self.init()
            if let size = options.size { self.size = size }
            if let fps = options.framesPerSecond { framesPerSecond = fps }
            if let quality = options.quality { self.quality = quality }
        }
    }

    /// The marker that starts the capture time in each frame's JPEG comment.
    public static let timestampPrefix = "FSTS:"

    /// Size, rate and quality.
    public let configuration: Configuration
    private let clock: FrameClock

    /// Creates the camera.
    /// - Throws: ``CameraError/invalidOption(name:value:expected:)`` for a rate, size or quality out of range.
    public init(configuration: Configuration = Configuration(), clock: some Clock<Duration> = ContinuousClock()) throws
    {
        try CameraError.checkFrameRate(configuration.framesPerSecond)
        guard configuration.size.width >= 16, configuration.size.height >= 16,
            configuration.size.width % 2 == 0
        else {
            throw CameraError.invalidOption(
                name: "size",
                value: "\(configuration.size)",
                expected: "an even width and both at least 16, such as 640x480"
            )
        }
        try CameraError.checkQuality(configuration.quality)
        self.configuration = configuration
        self.clock = FrameClock(clock)
    }

    /// Frames, the first at once, then one every 1/fps seconds.
    public func frames() -> Frames {
        Frames(configuration: configuration, clock: clock)
    }

    /// The endless sequence of pattern frames.
    public struct Frames: AsyncSequence, Sendable {
        let configuration: Configuration
        let clock: FrameClock

        /// Makes an iterator with an encoder of its own.
        public func makeAsyncIterator() -> Iterator {
            Iterator(configuration: configuration, clock: clock)
        }

        /// Draws and encodes one frame after another, paced by the clock.
        public struct Iterator: AsyncIteratorProtocol {
            let configuration: Configuration
            var pacer: FramePacer
            var encoder: JPEGEncoder?
            var number = 0

            init(configuration: Configuration, clock: FrameClock) {
                self.configuration = configuration
                self.pacer = FramePacer(clock: clock, framesPerSecond: configuration.framesPerSecond)
            }

            /// The next frame, once its time has come.
            public mutating func next() async throws -> JPEGImage? {
                try await pacer.waitForNextFrame()
                if encoder == nil {
                    encoder = try JPEGEncoder(
                        width: configuration.size.width,
                        height: configuration.size.height,
                        quality: configuration.quality
                    )
                }
                number += 1
                let captured = Date()
                let jpeg = try TestPattern(frame: number, time: captured).encode(with: encoder!)
                return JPEGImage(bytes: jpeg, captureTime: captured)
            }
        }
    }

    /// The capture time stamped in a frame's JPEG comment, if it has one; `nil` for any bytes that are not such a
    /// JPEG, however malformed (it never traps).
    public static func timestamp(in jpeg: [UInt8]) -> Date? {
        guard jpeg.count >= 2, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return nil }
        var index = 2
        while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
            let marker = jpeg[index + 1]
            let length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
            // Start of scan: no comment before the image data. A length below 2 cannot even cover itself.
            if marker == 0xDA || length < 2 { return nil }
            if marker == 0xFE, index + 2 + length <= jpeg.count {
                let text = String(decoding: jpeg[(index + 4)..<(index + 2 + length)], as: UTF8.self)
                if text.hasPrefix(timestampPrefix), let nanoseconds = Int64(text.dropFirst(timestampPrefix.count)) {
                    return Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
                }
            }
            index += 2 + length
        }
        return nil
    }
}
