public import struct Foundation.Date

/// One JPEG frame as every viewer of a camera receives it.
///
/// Frames are values whose JPEG bytes live in shared, reference-counted storage: handing the same frame to a
/// thousand subscribers copies nothing. Sequence numbers increase for every frame a ``FrameBroadcaster``
/// publishes, across restarts of the camera, so a viewer can tell a fresh frame from one it has seen: by one for a
/// camera's frames, and as the origin numbered them for relayed ones (``JPEGImage/sourceSequence``).
public struct Frame: Sendable {
    /// The frame's number: 1 for the first frame a broadcaster publishes, then one more for each frame; a relayed
    /// frame keeps its origin's number when that is higher (``JPEGImage/sourceSequence``).
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
