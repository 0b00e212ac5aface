/// A stretch of time a camera's history holds without a gap: what a timeline draws.
public struct RecordedSpan: Sendable, Hashable {
    /// The first frame's capture time, in microseconds since 1970.
    public var startMicros: Int64
    /// The last frame's capture time, in microseconds since 1970.
    public var endMicros: Int64
    /// How many frames it holds.
    public var frames: Int
    /// How many bytes of JPEG it holds.
    public var bytes: Int64

    /// Creates a span.
    public init(startMicros: Int64, endMicros: Int64, frames: Int, bytes: Int64) {
        self.startMicros = startMicros
        self.endMicros = endMicros
        self.frames = frames
        self.bytes = bytes
    }
}
