public import FrameStream

/// What `GET /status` returns, as JSON.
public struct ServerStatus: Sendable, Codable, Hashable {
    /// The camera.
    public struct Camera: Sendable, Codable, Hashable {
        /// The driver's name.
        public var driver: String
        /// Whether the camera is in use (starting, streaming or retrying).
        public var running: Bool
        /// `stopped`, `starting`, `streaming` or `retrying`.
        public var phase: CameraPhase
        /// Measured frames per second over the last few seconds.
        public var fps: Double
        /// Frames published since the server started.
        public var frames: UInt64
        /// The newest frame's sequence number.
        public var lastFrameSequence: UInt64?
        /// When the newest frame was captured, in Unix seconds.
        public var lastFrameTime: Double?
        /// The camera's most recent failure.
        public var lastError: String?
        /// When it failed, in Unix seconds.
        public var lastErrorTime: Double?
        /// Restarts after failures.
        public var restarts: Int
        /// Subscribers now: stream viewers, snapshot requests and any other users of the camera.
        public var subscribers: Int
        /// Seconds the camera keeps running after the last viewer has gone; `null` for ever.
        public var idleTimeout: Double?
    }

    /// The camera's recording to disk.
    public struct Recording: Sendable, Codable, Hashable {
        /// Whether it runs and its last write succeeded.
        public var recording: Bool
        /// Frames and bytes written, frames it could not write, since the server started.
        public var framesWritten: UInt64
        public var bytesWritten: UInt64
        public var framesDropped: UInt64
        /// When the newest frame written was captured, in Unix seconds.
        public var lastWrittenTime: Double?
        /// The last write error (a full disk, a folder that is not writable).
        public var lastError: String?
        /// When it happened, in Unix seconds.
        public var lastErrorTime: Double?
    }

    /// The camera's last seconds in memory.
    public struct Timeshift: Sendable, Codable, Hashable {
        /// Frames and JPEG bytes held.
        public var frames: Int
        public var bytes: Int
        /// Seconds from the oldest frame held to the newest.
        public var seconds: Double
    }

    /// The camera.
    public var camera: Camera
    /// The camera's recording, if it records.
    public var recording: Recording?
    /// The camera's timeshift ring, if it keeps one.
    public var timeshift: Timeshift?
    /// Open streams.
    public var clients: Int
    /// The most streams the server accepts.
    public var maxClients: Int
    /// The most frames per second a stream sends, if capped.
    public var maxFps: Double?
    /// Seconds since the endpoints were made.
    public var uptime: Double
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
