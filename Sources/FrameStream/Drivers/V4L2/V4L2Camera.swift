// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import CV4L2
import Foundation
public import Logging
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
        /// Control values to set each time the device is opened to capture, by name (`["exposure_auto": 1,
        /// "focus_absolute": 30]`; see ``CameraControl``). Values set later with ``V4L2Camera/setControl(name:value:)``
        /// replace these. A value the device does not take is logged and skipped.
        public var controls: [String: Int]

        /// Creates a configuration: `/dev/video0`, 640x480, 30 fps, quality 80, unless told otherwise.
        public init(
            device: String = "/dev/video0",
            size: FrameSize = FrameSize(width: 640, height: 480),
            framesPerSecond: Double = 30,
            quality: Int = 80,
            bufferCount: Int = 4,
            stallTimeout: Duration = .seconds(5),
            controls: [String: Int] = [:]
        ) {
            self.device = device
            self.size = size
            self.framesPerSecond = framesPerSecond
            self.quality = quality
            self.bufferCount = bufferCount
            self.stallTimeout = stallTimeout
            self.controls = controls
        }

        /// Reads ``CameraOptions/device``, ``CameraOptions/size``, ``CameraOptions/framesPerSecond`` and
        /// ``CameraOptions/quality`` and ``CameraOptions/controls``.
        public init(options: CameraOptions) {
            self.init()
            if let device = options.device { self.device = device }
            if let size = options.size { self.size = size }
            if let fps = options.framesPerSecond { framesPerSecond = fps }
            if let quality = options.quality { self.quality = quality }
            controls = options.controls
        }
    }

    /// Device, size, rate and quality.
    public let configuration: Configuration
    /// Frames dropped because the device flagged them broken or they were incomplete JPEGs, over all runs.
    public var droppedFrames: Int { dropped.count.load(ordering: .relaxed) }
    private let dropped = DropCounter()
    let requestedControls: V4L2RequestedControls
    private let logger: Logger

    /// Creates the camera; the device is opened when the camera starts.
    /// - Parameters:
    ///   - configuration: device, size, rate, quality and controls.
    ///   - logger: where controls the device does not take are logged, at each start; nothing by default.
    /// - Throws: ``CameraError/invalidOption(name:value:expected:)`` for a rate or quality out of range.
    public init(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "FrameStream", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        try CameraError.checkFrameRate(configuration.framesPerSecond)
        try CameraError.checkQuality(configuration.quality)
        self.configuration = configuration
        self.requestedControls = V4L2RequestedControls(configuration.controls)
        self.logger = logger
    }

    /// Opens the device and streams its frames until the iteration is cancelled.
    public func frames() -> CapturedFrames { frames(orientation: .upright) }

    /// Opens the device and streams its frames, turned, until the iteration is cancelled: raw frames are turned
    /// before they are encoded, Motion-JPEG frames losslessly (``JPEGTransformer``), both on the capture thread.
    public func frames(orientation: FrameOrientation) -> CapturedFrames {
        let configuration = self.configuration
        let counter = dropped
        let controls = requestedControls
        let logger = logger
        return CapturedFrames(name: "V4L2 \(configuration.device)") { sink in
            let capture = V4L2Capture(
                configuration: configuration,
                controls: controls,
                logger: logger,
                orientation: orientation
            )
            try capture.run(sink, dropped: counter)
        }
    }

    /// Counts dropped frames for the camera that made it.
    final class DropCounter: Sendable {
        let count = Atomic<Int>(0)
        func add() { count.add(1, ordering: .relaxed) }
    }

}
#endif
