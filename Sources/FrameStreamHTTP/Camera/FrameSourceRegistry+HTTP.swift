public import FrameStream

extension FrameSourceRegistry {
    /// The standard drivers and `http`, an upstream Motion-JPEG stream (``HTTPCamera``), which lives in this module
    /// because it needs an HTTP client: `HTTPClient.shared`.
    public static var standardWithHTTP: FrameSourceRegistry {
        var registry = FrameSourceRegistry.standard
        registry.register(
            "http",
            aliases: ["ipcamera", "mjpeg"],
            summary: "an upstream MJPEG stream over HTTP: IP cameras, mjpg-streamer, another FrameStream (--url)"
        ) { options in
            guard let url = options.url else {
                throw CameraError.invalidOption(name: "url", value: "", expected: "--url http://host:port/stream")
            }
            return try HTTPCamera(
                configuration: .init(
                    url: url,
                    maximumFrameBytes: options.maximumFrameBytes ?? JPEGStreamSplitter.defaultMaximumFrameBytes
                )
            )
        }
        return registry
    }
}
