/// What one viewer asked of its stream, from the query string: `/video_feed?fps=5`.
public struct StreamOptions: Sendable, Hashable {
    /// The most frames per second this viewer wants; `nil` for the camera's full rate.
    public var maxFramesPerSecond: Double?

    /// Creates options.
    public init(maxFramesPerSecond: Double? = nil) {
        self.maxFramesPerSecond = maxFramesPerSecond
    }

    /// Reads the options from query parameters.
    /// - Throws: ``StreamOptionsError`` for a value that is not valid, with a one-line reason.
    public init(query: [String: String]) throws(StreamOptionsError) {
        self.init()
        if let text = query["fps"] {
            guard let fps = Double(text), fps.isFinite, fps > 0, fps <= 1000 else {
                throw StreamOptionsError.invalidFramesPerSecond(text)
            }
            maxFramesPerSecond = fps
        }
    }

    /// These options with the frame rate capped at `limit`.
    public func capped(at limit: Double?) -> StreamOptions {
        guard let limit else { return self }
        return StreamOptions(maxFramesPerSecond: min(maxFramesPerSecond ?? limit, limit))
    }
}

/// A query value a stream cannot use.
public enum StreamOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `fps` is not a number above 0 and at most 1000.
    case invalidFramesPerSecond(String)

    /// The reason, in one line.
    public var description: String {
        switch self {
        case .invalidFramesPerSecond(let value):
            "invalid fps '\(value)': expected a number greater than 0 and at most 1000, such as fps=5"
        }
    }
}
