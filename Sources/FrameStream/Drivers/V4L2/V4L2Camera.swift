// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import CV4L2
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A USB webcam or any other V4L2 capture device, through libv4l2.
///
/// If the device offers Motion-JPEG at the asked size, its frames pass through untouched: no decode, no
/// re-encode. Otherwise it captures YUYV and encodes each frame once with libturbojpeg, however many viewers
/// watch. Capture uses memory-mapped streaming I/O with a pool of four buffers, on a thread of its own. Frames the
/// device flags as broken, and JPEGs without an end marker, are dropped and counted, never sent.
///
/// Stopping the camera (the idle timeout) stops streaming, unmaps the buffers and closes the device, so another
/// program or the next start can open it. A busy or missing device, or one unplugged while streaming, fails with
/// a ``V4L2Error`` that says what to do; the broadcaster retries with backoff and resumes when it is back.
public struct V4L2Camera: OrientableFrameSource {
    /// Device, size, rate and quality.
    public struct Configuration: Sendable, Hashable {
        /// The device path.
        public var device: String
        /// The frame size to ask for; the device may pick the nearest it has.
        public var size: FrameSize
        /// The frame rate to ask for.
        public var framesPerSecond: Double
        /// JPEG quality for devices without Motion-JPEG, 1 to 100.
        public var quality: Int
        /// How many memory-mapped buffers to ask for.
        public var bufferCount: Int
        /// How long without a frame before the device counts as stalled and is restarted.
        public var stallTimeout: Duration

        /// Creates a configuration: `/dev/video0`, 640x480, 30 fps, quality 80, unless told otherwise.
        public init(
            device: String = "/dev/video0",
            size: FrameSize = FrameSize(width: 640, height: 480),
            framesPerSecond: Double = 30,
            quality: Int = 80,
            bufferCount: Int = 4,
            stallTimeout: Duration = .seconds(5)
        ) {
            self.device = device
            self.size = size
            self.framesPerSecond = framesPerSecond
            self.quality = quality
            self.bufferCount = bufferCount
            self.stallTimeout = stallTimeout
        }

        /// Reads ``CameraOptions/device``, ``CameraOptions/size``, ``CameraOptions/framesPerSecond`` and
        /// ``CameraOptions/quality``.
        public init(options: CameraOptions) {
            self.init()
            if let device = options.device { self.device = device }
            if let size = options.size { self.size = size }
            if let fps = options.framesPerSecond { framesPerSecond = fps }
            if let quality = options.quality { self.quality = quality }
        }
    }

    /// Device, size, rate and quality.
    public let configuration: Configuration
    /// Frames dropped because the device flagged them broken or they were incomplete JPEGs, over all runs.
    public var droppedFrames: Int { dropped.count.load(ordering: .relaxed) }
    private let dropped = DropCounter()

    /// Creates the camera; the device is opened when the camera starts.
    /// - Throws: ``CameraError/invalidOption(name:value:expected:)`` for a rate or quality out of range.
    public init(configuration: Configuration = Configuration()) throws {
        try CameraError.checkFrameRate(configuration.framesPerSecond)
        try CameraError.checkQuality(configuration.quality)
        self.configuration = configuration
    }

    /// Opens the device and streams its frames until the iteration is cancelled.
    public func frames() -> CapturedFrames { frames(orientation: .upright) }

    /// Opens the device and streams its frames, turned, until the iteration is cancelled: raw frames are turned
    /// before they are encoded, Motion-JPEG frames losslessly (``JPEGTransformer``), both on the capture thread.
    public func frames(orientation: FrameOrientation) -> CapturedFrames {
        let configuration = self.configuration
        let counter = dropped
        return CapturedFrames(name: "V4L2 \(configuration.device)") { sink in
            try V4L2Capture(configuration: configuration, orientation: orientation).run(sink, dropped: counter)
        }
    }

    /// Counts dropped frames for the camera that made it.
    final class DropCounter: Sendable {
        let count = Atomic<Int>(0)
        func add() { count.add(1, ordering: .relaxed) }
    }

    /// One run of the camera.

}
#endif
