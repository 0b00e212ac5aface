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

    /// The camera.
    public var camera: Camera
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
