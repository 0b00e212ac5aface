/// A recording that readers can open by time: what a recorder on disk offers to playback and export.
///
/// `FrameStreamRecording`'s `FrameRecorder` is one; the core needs only this.
public protocol RecordingSource: Sendable {
    /// A history of the recording for one reader (a playback, an export), which keeps what it reads from being
    /// deleted while it reads it.
    func makeHistory() -> any FrameHistory
    /// The recorded stretches without gaps that overlap `range` (capture times in microseconds since 1970), from
    /// the recording's catalog.
    func recordedSpans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan]
    /// What the recorder has done: frames written, errors.
    var status: RecorderStatus { get }
}

/// Where a camera's past comes from: a recording on disk, the timeshift ring in memory, or both.
///
/// ```swift
/// let archive = CameraArchive(timeshift: TimeshiftBuffer(broadcaster: camera), recording: recorder)
/// let endpoints = MJPEGEndpoints(broadcaster: camera, archive: archive, logger: logger)
/// ```
public struct CameraArchive: Sendable {
    /// The last seconds in memory, if kept.
    public var timeshift: TimeshiftBuffer?
    /// The recording, if the camera records.
    public var recording: (any RecordingSource)?

    /// Creates an archive; with neither part it holds nothing.
    public init(timeshift: TimeshiftBuffer? = nil, recording: (any RecordingSource)? = nil) {
        self.timeshift = timeshift
        self.recording = recording
    }

    /// Whether it holds anything at all.
    public var isEmpty: Bool { timeshift == nil && recording == nil }

    /// A history of everything it holds, for one reader.
    public func makeHistory() -> any FrameHistory {
        // The memory first: where both hold a frame, it is read from there.
        let sources: [any FrameHistory] = [timeshift, recording?.makeHistory()].compactMap { $0 }
        return sources.count == 1 ? sources[0] : CameraHistory(sources)
    }
}
