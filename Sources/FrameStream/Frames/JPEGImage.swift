public import struct Foundation.Date

/// One JPEG image as a camera driver produces it, before the broadcaster numbers it.
///
/// A ``FrameSource`` yields these; the ``FrameBroadcaster`` turns each into a ``Frame`` with a sequence number.
public struct JPEGImage: Sendable, Hashable {
    /// The complete JPEG file, from the start-of-image marker to the end-of-image marker.
    public var bytes: [UInt8]
    /// When the image was captured (wall-clock time).
    public var captureTime: Date
    /// The frame's number where it comes from, for a driver that relays another server's frames (the `http`
    /// driver reads it from `X-Frame-Sequence`); `nil` for a camera.
    ///
    /// The ``FrameBroadcaster`` publishes the frame under this number when it is higher than its last one, so that
    /// the viewers of a relay see the origin's numbers, and does not publish again a frame with the number of its
    /// newest one (the same frame, after a reconnection). A lower number (the origin was restarted) gets the
    /// broadcaster's next number, as a camera's frame does.
    public var sourceSequence: UInt64?

    /// Creates an image from complete JPEG bytes.
    /// - Parameters:
    ///   - bytes: the JPEG file, `FF D8` … `FF D9`.
    ///   - captureTime: when the camera took it; now, unless the driver knows better.
    ///   - sourceSequence: the frame's number at the server it is relayed from, if it is relayed.
    public init(bytes: [UInt8], captureTime: Date = Date(), sourceSequence: UInt64? = nil) {
        self.bytes = bytes
        self.captureTime = captureTime
        self.sourceSequence = sourceSequence
    }
}
