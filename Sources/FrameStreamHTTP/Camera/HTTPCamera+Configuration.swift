public import FrameStream

extension HTTPCamera {
    /// Where the stream is and how long it may go without a new frame.
    ///
    /// Its ``description`` and its mirror (`dump`, debuggers) show the address without its password.
    public struct Configuration: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
        CustomReflectable
    {
        /// The stream's address, such as `http://192.168.1.20:8080/?action=stream`; a user and password in it
        /// (`http://user:password@host/…`) are sent as basic authentication.
        public var url: String
        /// How long the upstream may go without sending a new, complete JPEG — from the start of the connection
        /// or from the last frame — before the connection counts as failed and is reopened: an upstream that is
        /// silent, sends only garbage or truncated images, or only repeats its last frame.
        public var stallTimeout: Duration
        /// The largest image accepted.
        public var maximumFrameBytes: Int

        /// Creates a configuration.
        public init(
            url: String,
            stallTimeout: Duration = .seconds(10),
            maximumFrameBytes: Int = JPEGStreamSplitter.defaultMaximumFrameBytes
        ) {
            self.url = url
            self.stallTimeout = stallTimeout
            self.maximumFrameBytes = maximumFrameBytes
        }

        /// The configuration with the address redacted.
        public var description: String {
            "HTTPCamera.Configuration(url: \(StreamAddress.redact(url)), "
                + "stallTimeout: \(HTTPCameraError.seconds(stallTimeout)), maximumFrameBytes: \(maximumFrameBytes))"
        }

        /// The same as ``description``: no secret in debug output either.
        public var debugDescription: String { description }

        /// The fields, with the address redacted.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "url": StreamAddress.redact(url), "stallTimeout": stallTimeout,
                    "maximumFrameBytes": maximumFrameBytes,
                ],
                displayStyle: .struct
            )
        }
    }
}
