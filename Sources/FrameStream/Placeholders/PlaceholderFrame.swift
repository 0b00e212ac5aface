public import struct Foundation.Date

/// A picture that stands in for the camera's while it has none — starting, retrying after a failure, or sending
/// nothing — saying so in words. Viewers that wait with ``FrameSubscription/Iterator/nextEvent()`` get one about
/// once a second (``FrameSubscription/Event/placeholder(_:)``) until real frames return.
///
/// A placeholder is no camera frame: it has no sequence number, is not counted as captured, and never reaches a
/// recording, a snapshot's ``FrameBroadcaster/snapshot(maxAge:timeout:)`` or ``FrameSubscription/Iterator/next()``.
public struct PlaceholderFrame: Sendable {
    /// Why the camera has no picture.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The camera is starting and has sent no frame yet.
        case starting
        /// The camera failed (unplugged, busy, its upstream gone, …) and is restarted after a backoff.
        case retrying
        /// The camera runs but has sent no new frame for ``FrameBroadcaster/Placeholders/noSignalAfter``.
        case noSignal = "no-signal"
    }

    /// The JPEG.
    public let jpeg: [UInt8]
    /// Why it is shown.
    public let reason: Reason
    /// What it says, a line each (empty for a custom image).
    public let text: [String]
    /// When it was made.
    public let time: Date
    /// Counts the placeholders of a broadcaster, so that a subscriber gets each once.
    let number: UInt64
}
