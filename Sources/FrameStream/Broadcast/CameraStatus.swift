public import struct Foundation.Date

/// What a camera is doing, as a ``FrameBroadcaster`` sees it.
public enum CameraPhase: String, Sendable, Codable, Hashable {
    /// Nobody is watching (or the idle timeout passed): the camera is released.
    case stopped
    /// The camera has been started and its first frame is awaited.
    case starting
    /// Frames are flowing.
    case streaming
    /// The camera failed or ended; it is restarted after a backoff while anyone watches.
    case retrying
}

/// A snapshot of a camera's state, for status pages and logs.
public struct CameraStatus: Sendable, Codable, Hashable {
    /// The name of the driver, such as `emulated`.
    public var driver: String
    /// What the camera is doing.
    public var phase: CameraPhase
    /// Subscribers now watching (viewers, snapshot requests, recorders).
    public var subscribers: Int
    /// Frames published since the broadcaster was made.
    public var framesProduced: UInt64
    /// The camera's measured rate over the last few seconds; 0 when no frame came in that time.
    public var framesPerSecond: Double
    /// The newest frame's sequence number, if any frame was published.
    public var lastFrameSequence: UInt64?
    /// When the newest frame was captured.
    public var lastFrameTime: Date?
    /// The most recent failure of the camera, in words; kept after the camera recovers.
    public var lastError: String?
    /// When that failure happened.
    public var lastErrorTime: Date?
    /// How many times the camera was restarted after a failure.
    public var restarts: Int

    /// Whether the camera is in use: starting, streaming or retrying.
    public var isRunning: Bool { phase != .stopped }
}
