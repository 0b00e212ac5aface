/// One camera's whole history: several ``FrameHistory`` sources (a recording on disk, the ``TimeshiftBuffer``)
/// read as one, each lookup answered by whichever source has the nearest frame.
///
/// ```swift
/// let history = CameraHistory([recording, timeshift])
/// ```
public struct CameraHistory: FrameHistory {
    /// The sources, in no particular order.
    public let sources: [any FrameHistory]

    /// Joins some sources.
    public init(_ sources: [any FrameHistory]) {
        self.sources = sources
    }

    public func frame(atOrBefore micros: Int64) -> RecordedFrame? {
        sources.compactMap { $0.frame(atOrBefore: micros) }.max { $0.captureMicros < $1.captureMicros }
    }

    public func frame(after micros: Int64) -> RecordedFrame? {
        sources.compactMap { $0.frame(after: micros) }.min { $0.captureMicros < $1.captureMicros }
    }

    public func frame(before micros: Int64) -> RecordedFrame? {
        sources.compactMap { $0.frame(before: micros) }.max { $0.captureMicros < $1.captureMicros }
    }

    public var timeRange: ClosedRange<Int64>? {
        let ranges = sources.compactMap(\.timeRange)
        guard let lower = ranges.map(\.lowerBound).min(), let upper = ranges.map(\.upperBound).max() else {
            return nil
        }
        return lower...upper
    }

    /// The sources' spans, overlapping ones joined (their frame and byte counts are those of the larger piece,
    /// since sources overlap where they hold the same frames).
    public func spans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan] {
        let all = sources.flatMap { $0.spans(overlapping: range) }.sorted { $0.startMicros < $1.startMicros }
        var joined: [RecordedSpan] = []
        for span in all {
            if var last = joined.last, span.startMicros <= last.endMicros {
                last.endMicros = max(last.endMicros, span.endMicros)
                last.frames = max(last.frames, span.frames)
                last.bytes = max(last.bytes, span.bytes)
                joined[joined.count - 1] = last
            } else {
                joined.append(span)
            }
        }
        return joined
    }
}
