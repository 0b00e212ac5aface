public import struct Foundation.Date

/// What a recorder has done since it started: for status pages and alerts.
public struct RecorderStatus: Sendable, Hashable, Codable {
    /// Whether it runs and its last write succeeded.
    public var recording: Bool
    /// Frames written since it started.
    public var framesWritten: UInt64
    /// Bytes written since it started (JPEG data and index records).
    public var bytesWritten: UInt64
    /// Frames it could not write (disk errors, a full queue).
    public var framesDropped: UInt64
    /// The capture time of the newest frame written, in microseconds since 1970.
    public var lastWrittenMicros: Int64?
    /// The camera's sequence number of the newest frame written.
    public var lastWrittenSequence: UInt64?
    /// The last error, if writing has failed since it started.
    public var lastError: String?
    /// When the last error happened.
    public var lastErrorTime: Date?

    /// Creates a status: nothing done yet.
    public init(
        recording: Bool = false,
        framesWritten: UInt64 = 0,
        bytesWritten: UInt64 = 0,
        framesDropped: UInt64 = 0,
        lastWrittenMicros: Int64? = nil,
        lastWrittenSequence: UInt64? = nil,
        lastError: String? = nil,
        lastErrorTime: Date? = nil
    ) {
        self.recording = recording
        self.framesWritten = framesWritten
        self.bytesWritten = bytesWritten
        self.framesDropped = framesDropped
        self.lastWrittenMicros = lastWrittenMicros
        self.lastWrittenSequence = lastWrittenSequence
        self.lastError = lastError
        self.lastErrorTime = lastErrorTime
    }
}
