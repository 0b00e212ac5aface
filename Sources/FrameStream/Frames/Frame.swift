public import struct Foundation.Date

/// One JPEG frame as every viewer of a camera receives it.
///
/// Frames are values whose JPEG bytes live in shared, reference-counted storage: handing the same frame to a
/// thousand subscribers copies nothing. Sequence numbers increase by one for every frame a ``FrameBroadcaster``
/// publishes, across restarts of the camera, so a viewer can tell a fresh frame from one it has seen.
public struct Frame: Sendable {
    /// The frame's number: 1 for the first frame a broadcaster publishes, then one more for each frame.
    public let sequence: UInt64
    /// The complete JPEG file.
    public let jpeg: [UInt8]
    /// When the camera captured the image (wall-clock time).
    public let captureTime: Date
    /// When the broadcaster published the frame, on the broadcaster's clock (time since the broadcaster was made).
    let publishedAt: Duration

    init(sequence: UInt64, image: JPEGImage, publishedAt: Duration) {
        self.sequence = sequence
        self.jpeg = image.bytes
        self.captureTime = image.captureTime
        self.publishedAt = publishedAt
    }
}
