extension FrameBroadcaster {
    /// How a broadcaster runs its camera.
    public struct Configuration: Sendable, Hashable {
        /// How long the camera keeps running after the last subscriber has gone: 10 s by default, `.zero` to stop at
        /// once, `nil` to keep it running until the broadcaster stops (for recording).
        public var idleTimeout: Duration?
        /// How long to wait before restarting a camera that failed or ended.
        public var restartBackoff: RestartBackoff
        /// When the camera delivers nothing new for this long, subscribers that asked for heartbeats
        /// (``FrameSubscription/Iterator/nextEvent()``) get ``FrameSubscription/Event/noNewFrame``, so that a stream
        /// can re-send its last frame before proxies and browsers time out; `nil` for no heartbeats.
        public var heartbeatInterval: Duration?
        /// What subscribers that wait with heartbeats see while the camera has no picture (on by default); while
        /// placeholders are shown, they stand in for heartbeats.
        public var placeholders: Placeholders
        /// How every frame is flipped and rotated, once, before any subscriber, observer or snapshot sees it:
        /// losslessly for a driver's JPEGs (``JPEGTransformer``), or by the driver itself before it encodes, for an
        /// ``OrientableFrameSource``. Upright by default. A frame that cannot be turned (not a readable JPEG) is
        /// dropped and logged.
        public var orientation: FrameOrientation

        /// Creates a configuration.
        public init(
            idleTimeout: Duration? = .seconds(10),
            restartBackoff: RestartBackoff = RestartBackoff(),
            heartbeatInterval: Duration? = .seconds(5),
            placeholders: Placeholders = Placeholders(),
            orientation: FrameOrientation = .upright
        ) {
            self.idleTimeout = idleTimeout
            self.restartBackoff = restartBackoff
            self.heartbeatInterval = heartbeatInterval
            self.placeholders = placeholders
            self.orientation = orientation
        }
    }
}
