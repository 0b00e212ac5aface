import Foundation

/// A camera that needs no hardware: it repeats a few JPEG images at a fixed rate.
///
/// By default it shows three numbered images, compiled into the program (``bundledImages``), at one frame per
/// second, as the emulated camera of "Flask Video Streaming Revisited" does. Give it a folder to
/// show other images, in file-name order.
///
/// ```swift
/// let camera = try EmulatedCamera(configuration: .init(framesDirectory: "/srv/slides", framesPerSecond: 0.2))
/// ```
public struct EmulatedCamera: FrameSource {
    /// How the emulated camera behaves.
    public struct Configuration: Sendable, Hashable {
        /// A folder of JPEG files to show in file-name order; `nil` for the three bundled images.
        public var framesDirectory: String?
        /// Frames per second; the article's camera shows 1.
        public var framesPerSecond: Double

        /// Creates a configuration.
        public init(framesDirectory: String? = nil, framesPerSecond: Double = 1) {
            self.framesDirectory = framesDirectory
            self.framesPerSecond = framesPerSecond
        }

        /// Reads the options the emulated camera understands: ``CameraOptions/framesDirectory`` and
        /// ``CameraOptions/framesPerSecond``.
        public init(options: CameraOptions) {
            self.init(framesDirectory: options.framesDirectory, framesPerSecond: options.framesPerSecond ?? 1)
        }
    }

    /// The three bundled images, compiled into the program (so that a copied binary still has them).
    public static let bundledImages: [[UInt8]] = [
        PackageResources.frame1_jpg, PackageResources.frame2_jpg, PackageResources.frame3_jpg,
    ]

    /// The images, in the order they are shown.
    public let images: [[UInt8]]
    /// The time between two frames.
    public var frameInterval: Duration { .seconds(1 / framesPerSecond) }
    private let framesPerSecond: Double
    private let clock: FrameClock

    /// Loads the images and makes the camera.
    /// - Parameters:
    ///   - configuration: the folder and the rate.
    ///   - clock: paces the frames; tests pass a manual clock.
    /// - Throws: ``CameraError`` when the folder holds no readable JPEG or the rate is not positive.
    public init(configuration: Configuration = Configuration(), clock: some Clock<Duration> = ContinuousClock()) throws
    {
        try CameraError.checkFrameRate(configuration.framesPerSecond)
        self.images =
            try configuration.framesDirectory.map { try JPEGFolder(path: $0).readImages() } ?? Self.bundledImages
        self.framesPerSecond = configuration.framesPerSecond
        self.clock = FrameClock(clock)
    }

    /// The images, one every ``frameInterval``, the first at once, repeating without end.
    public func frames() -> Frames {
        Frames(images: images, framesPerSecond: framesPerSecond, clock: clock)
    }

    /// The endless sequence of the emulated camera's images.
    public struct Frames: AsyncSequence, Sendable {
        let images: [[UInt8]]
        let framesPerSecond: Double
        let clock: FrameClock

        /// Makes an iterator that starts with the first image.
        public func makeAsyncIterator() -> Iterator {
            Iterator(frames: self)
        }

        /// Yields the images in turn, paced by the clock; throws `CancellationError` when its task is cancelled.
        public struct Iterator: AsyncIteratorProtocol {
            let frames: Frames
            var pacer: FramePacer
            var index = 0

            init(frames: Frames) {
                self.frames = frames
                self.pacer = FramePacer(clock: frames.clock, framesPerSecond: frames.framesPerSecond)
            }

            /// The next image, once its time has come.
            public mutating func next() async throws -> JPEGImage? {
                try await pacer.waitForNextFrame()
                defer { index += 1 }
                return JPEGImage(bytes: frames.images[index % frames.images.count])
            }
        }
    }
}
