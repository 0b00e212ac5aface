import FrameStream

/// What `POST playback` answers: the session's id and its addresses, relative to the camera's routes.
struct PlaybackSessionCreated: Codable, Sendable, Hashable {
    var id: String
    var stream: String
    var control: String
    var events: String
}

/// A playback's state as the control routes and the event stream send it.
struct PlaybackStateJSON: Codable, Sendable, Hashable {
    /// RFC 3339 to the microsecond.
    var position: String
    var positionUnix: Double
    var rate: Double
    var paused: Bool
    var live: Bool
    /// Seconds.
    var behindLive: Double
    var ended: Bool

    init(_ state: PlaybackState) {
        position = PlaybackTime.format(state.positionMicros)
        positionUnix = Double(state.positionMicros) / 1_000_000
        rate = state.rate
        paused = state.isPaused
        live = state.isLive
        behindLive = (Double(state.behindLiveMicros) / 1000).rounded() / 1000
        ended = state.hasEnded
    }
}

/// What `GET recordings` answers.
struct RecordingsListing: Codable, Sendable, Hashable {
    struct Span: Codable, Sendable, Hashable {
        var start: String
        var end: String
        var frames: Int
        var bytes: Int64

        init(_ span: RecordedSpan) {
            start = PlaybackTime.format(span.startMicros)
            end = PlaybackTime.format(span.endMicros)
            frames = span.frames
            bytes = span.bytes
        }
    }

    /// The recording on disk, without gaps, oldest first.
    var spans: [Span]
    /// The timeshift ring in memory, if the camera keeps one.
    var timeshift: Span?
    /// The server's time.
    var now: String
}
