/// One camera's whole history: several ``FrameHistory`` sources (a recording on disk, the ``TimeshiftBuffer``)
/// read as one, each lookup answered by whichever source has the nearest frame.
///
/// ```swift
/// let history = CameraHistory([recording, timeshift])
/// ```
public struct CameraHistory: FrameHistory {
    /// The sources; on a tie (the same frame in two of them), the first one is read.
    public let sources: [any FrameHistory]

    /// Joins some sources.
    public init(_ sources: [any FrameHistory]) {
        self.sources = sources
    }

    public func frame(atOrBefore micros: Int64) -> RecordedFrame? {
        read(nearest: { $0.captureTime(atOrBefore: micros) }, newest: true, frame: { $0.frame(atOrBefore: micros) })
    }

    public func frame(after micros: Int64) -> RecordedFrame? {
        read(nearest: { $0.captureTime(after: micros) }, newest: false, frame: { $0.frame(after: micros) })
    }

    public func frame(before micros: Int64) -> RecordedFrame? {
        read(nearest: { $0.captureTime(before: micros) }, newest: true, frame: { $0.frame(before: micros) })
    }

    public func captureTime(atOrBefore micros: Int64) -> Int64? {
        sources.compactMap { $0.captureTime(atOrBefore: micros) }.max()
    }

    public func captureTime(after micros: Int64) -> Int64? {
        sources.compactMap { $0.captureTime(after: micros) }.min()
    }

    public func captureTime(before micros: Int64) -> Int64? {
        sources.compactMap { $0.captureTime(before: micros) }.max()
    }

    /// Reads the frame from the one source whose index has the nearest time (the first such source in ``sources``
    /// on a tie); when that source cannot read it (and answers with a farther frame or none), reads the others too
    /// and keeps the nearest.
    private func read(
        nearest time: (any FrameHistory) -> Int64?,
        newest: Bool,
        frame: (any FrameHistory) -> RecordedFrame?
    ) -> RecordedFrame? {
        let candidates = sources.compactMap { source in time(source).map { (source, $0) } }
        guard
            let best = candidates.indices.min(by: {
                let (left, right) = (candidates[$0].1, candidates[$1].1)
                return newest ? left > right : left < right
            })
        else { return nil }
        let first = frame(candidates[best].0)
        if let first, first.captureMicros == candidates[best].1 { return first }
        let all =
            [first].compactMap { $0 } + candidates.indices.filter { $0 != best }.compactMap { frame(candidates[$0].0) }
        return newest
            ? all.max { $0.captureMicros < $1.captureMicros } : all.min { $0.captureMicros < $1.captureMicros }
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
