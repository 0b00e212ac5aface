/// What one viewer asked of its stream, from the query string: `/video_feed?fps=5`.
public struct StreamOptions: Sendable, Hashable {
    /// The most frames per second this viewer wants; `nil` for the camera's full rate.
    public var maxFramesPerSecond: Double?

    /// The rates a viewer may ask for: at least one frame in 1000 s, at most 1000 frames a second.
    public static let framesPerSecondRange: ClosedRange<Double> = 0.001...1000

    /// Creates options.
    public init(maxFramesPerSecond: Double? = nil) {
        self.maxFramesPerSecond = maxFramesPerSecond
    }

    /// Reads the options from query parameters.
    /// - Throws: ``StreamOptionsError`` for a value that is not valid, with a one-line reason.
    public init(query: [String: String]) throws(StreamOptionsError) {
        self.init()
        if let text = query["fps"] {
            // `Double` also reads "nan", "inf" and hex floats: the range check rejects the first two, and a rate
            // outside it would make an interval a `Duration` cannot hold.
            guard text.utf8.count <= 32, let fps = Double(text), Self.framesPerSecondRange.contains(fps) else {
                throw StreamOptionsError.invalidFramesPerSecond(text)
            }
            maxFramesPerSecond = fps
        }
    }

    /// The shortest time between two frames, or `nil` for no cap; a rate outside ``framesPerSecondRange`` counts as
    /// its nearest end, so that any value gives a `Duration` that fits.
    public var minimumFrameInterval: Duration? {
        guard let fps = maxFramesPerSecond, !fps.isNaN else { return nil }
        let range = Self.framesPerSecondRange
        return .seconds(1 / min(max(fps, range.lowerBound), range.upperBound))
    }

    /// These options with the frame rate capped at `limit`.
    public func capped(at limit: Double?) -> StreamOptions {
        guard let limit else { return self }
        return StreamOptions(maxFramesPerSecond: min(maxFramesPerSecond ?? limit, limit))
    }
}

/// A query value a stream cannot use.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum StreamOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `fps` is not a number from 0.001 to 1000.
    case invalidFramesPerSecond(String)

    /// The reason, in one line.
    public var description: String {
        switch self {
        case .invalidFramesPerSecond(let value):
            "invalid fps '\(value.prefix(40))': expected a number from 0.001 to 1000, such as fps=5"
        }
    }
}
