public import struct Foundation.Date

/// One JPEG image as a camera driver produces it, before the broadcaster numbers it.
///
/// A ``FrameSource`` yields these; the ``FrameBroadcaster`` turns each into a ``Frame`` with a sequence number.
public struct JPEGImage: Sendable, Hashable {
    /// The complete JPEG file, from the start-of-image marker to the end-of-image marker.
    public var bytes: [UInt8]
    /// When the image was captured (wall-clock time).
    public var captureTime: Date

    /// Creates an image from complete JPEG bytes.
    /// - Parameters:
    ///   - bytes: the JPEG file, `FF D8` … `FF D9`.
    ///   - captureTime: when the camera took it; now, unless the driver knows better.
    public init(bytes: [UInt8], captureTime: Date = Date()) {
        self.bytes = bytes
        self.captureTime = captureTime
    }
}
