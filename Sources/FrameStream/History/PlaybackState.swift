/// Where a ``Playback`` is and how it moves: what a player shows next to the picture.
public struct PlaybackState: Sendable, Hashable {
    /// The capture time of the frame shown last (or about to be shown), in microseconds since 1970.
    public var positionMicros: Int64
    /// How fast recorded time passes: 1 is real time, 2 twice as fast, -1 backwards; live is always 1.
    public var rate: Double
    /// Whether the picture stands still.
    public var isPaused: Bool
    /// Whether the playback shows the camera's newest frames as they come.
    public var isLive: Bool
    /// How far the position is behind the newest frame the camera made, in microseconds; 0 when live.
    public var behindLiveMicros: Int64
    /// Whether the playback reached its end time: its stream ends.
    public var hasEnded: Bool

    /// Creates a state.
    public init(
        positionMicros: Int64,
        rate: Double,
        isPaused: Bool,
        isLive: Bool,
        behindLiveMicros: Int64,
        hasEnded: Bool
    ) {
        self.positionMicros = positionMicros
        self.rate = rate
        self.isPaused = isPaused
        self.isLive = isLive
        self.behindLiveMicros = behindLiveMicros
        self.hasEnded = hasEnded
    }
}
