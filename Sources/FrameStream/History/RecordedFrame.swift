public import struct Foundation.Date

/// A frame from a camera's past: from a recording on disk or from the timeshift ring in memory.
public struct RecordedFrame: Sendable, Hashable {
    /// The complete JPEG file, exactly as the camera delivered it.
    public var jpeg: [UInt8]
    /// When the camera captured it: microseconds since 1970 (UTC).
    public var captureMicros: Int64

    /// Creates a recorded frame.
    public init(jpeg: [UInt8], captureMicros: Int64) {
        self.jpeg = jpeg
        self.captureMicros = captureMicros
    }

    /// When the camera captured it.
    public var captureTime: Date { Date(microsSince1970: captureMicros) }
}

extension Date {
    /// The date `micros` microseconds after 1970-01-01 00:00 UTC.
    public init(microsSince1970 micros: Int64) {
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Microseconds since 1970-01-01 00:00 UTC, rounded to the nearest.
    public var microsSince1970: Int64 {
        Int64((timeIntervalSince1970 * 1_000_000).rounded())
    }
}

extension Frame {
    /// The frame's capture time in microseconds since 1970, as recordings keep it.
    public var captureMicros: Int64 { captureTime.microsSince1970 }

    /// The frame as a recording keeps it.
    public var recorded: RecordedFrame { RecordedFrame(jpeg: jpeg, captureMicros: captureMicros) }
}
