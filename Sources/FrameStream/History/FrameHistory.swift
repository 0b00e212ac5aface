/// A camera's past frames, by capture time: what playback, rewinding and export read.
///
/// FrameStream has two: the ``TimeshiftBuffer``, the last seconds in memory, and a recording on disk
/// (`FrameStreamRecording`); a ``CameraHistory`` joins them. Times are capture times in microseconds since 1970.
/// Lookups are synchronous and fast (an index search and, for a recording, one `pread` from the page cache); a
/// frame that cannot be read is skipped as if it were not there.
public protocol FrameHistory: Sendable {
    /// The frame captured at `micros`, or the last one before it.
    func frame(atOrBefore micros: Int64) -> RecordedFrame?
    /// The first frame captured after `micros`.
    func frame(after micros: Int64) -> RecordedFrame?
    /// The last frame captured before `micros`.
    func frame(before micros: Int64) -> RecordedFrame?
    /// The capture time of the frame ``frame(atOrBefore:)`` would return, found in the index without reading the
    /// frame (so a frame that turns out unreadable when read is not skipped here).
    func captureTime(atOrBefore micros: Int64) -> Int64?
    /// The capture time of the frame ``frame(after:)`` would return, without reading the frame.
    func captureTime(after micros: Int64) -> Int64?
    /// The capture time of the frame ``frame(before:)`` would return, without reading the frame.
    func captureTime(before micros: Int64) -> Int64?
    /// The capture times of the oldest and the newest frame; `nil` when the history is empty.
    var timeRange: ClosedRange<Int64>? { get }
    /// The stretches without gaps that overlap `start...end`.
    func spans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan]
}

extension FrameHistory {
    /// Reads the frame: a history that can find times without reading frames implements this itself.
    public func captureTime(atOrBefore micros: Int64) -> Int64? { frame(atOrBefore: micros)?.captureMicros }

    /// Reads the frame: a history that can find times without reading frames implements this itself.
    public func captureTime(after micros: Int64) -> Int64? { frame(after: micros)?.captureMicros }

    /// Reads the frame: a history that can find times without reading frames implements this itself.
    public func captureTime(before micros: Int64) -> Int64? { frame(before: micros)?.captureMicros }

    /// The capture time of the first frame captured at `micros` or after it, without reading the frame.
    public func captureTime(atOrAfter micros: Int64) -> Int64? {
        captureTime(after: micros - 1)
    }

    /// The first frame captured at `micros` or after it.
    public func frame(atOrAfter micros: Int64) -> RecordedFrame? {
        frame(after: micros - 1)
    }

    /// The frames captured in `range`, oldest first, read one at a time as the sequence is iterated.
    public func frames(in range: ClosedRange<Int64>) -> some Sequence<RecordedFrame> {
        sequence(state: range.lowerBound - 1) { [self] last -> RecordedFrame? in
            guard let next = frame(after: last), next.captureMicros <= range.upperBound else { return nil }
            last = next.captureMicros
            return next
        }
    }
}
