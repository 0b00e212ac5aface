import CoreMetrics
import FrameStream
import Logging

import struct Foundation.Date

/// What one viewer's stream delivered, for the line logged when it ends, and for the camera's metrics as it goes.
struct ViewerStatistics {
    /// Parts written: frames, and the last frame again as a heartbeat.
    private(set) var partsSent = 0
    /// Frames the camera made that this viewer never got, because it was slower than the camera.
    private(set) var framesSkipped: UInt64 = 0
    /// Bytes handed to the connection, the stream's first boundary included.
    private(set) var bytesSent = 0
    private var lastSequence: UInt64?
    private let startedAt = ContinuousClock.now
    /// Where the camera's counts go; `nil` for none.
    var metrics: CameraMetrics?

    init(metrics: CameraMetrics? = nil) {
        self.metrics = metrics
    }

    /// Counts the stream's start (its first boundary), written to the connection.
    mutating func countStart(bytes: Int) {
        bytesSent += bytes
        metrics?.bytesSent.increment(by: bytes)
    }

    /// Counts a frame about to be sent, and the frames between it and the previous one as skipped.
    mutating func countFrame(sequence: UInt64) {
        if let lastSequence, sequence > lastSequence + 1 {
            countSkipped(sequence - lastSequence - 1)
        }
        lastSequence = max(lastSequence ?? 0, sequence)
    }

    /// Counts frames the viewer will never get: a part not yet sent, replaced by a newer one.
    mutating func countSkipped(_ frames: UInt64 = 1) {
        framesSkipped += frames
        metrics?.framesSkipped.increment(by: Int64(clamping: frames))
    }

    /// Counts a part handed to the connection: a frame captured at `captureTime`, or a part that is no new frame
    /// (a heartbeat, a placeholder) for `nil`.
    mutating func countSent(bytes: Int, frameCapturedAt captureTime: Date?) {
        partsSent += 1
        bytesSent += bytes
        guard let metrics else { return }
        metrics.bytesSent.increment(by: bytes)
        if let captureTime {
            metrics.framesSent.increment()
            metrics.recordLatency(since: captureTime)
        }
    }

    /// Logs the end of the stream at info level: the access-log line of a stream.
    func logEnd(_ logger: Logger, delivery: String, remote: String?, reason: String) {
        let duration = (ContinuousClock.now - startedAt).seconds
        var metadata: Logger.Metadata = [
            "delivery": "\(delivery)",
            "parts": "\(partsSent)",
            "skipped": "\(framesSkipped)",
            "bytes": "\(bytesSent)",
            "duration": "\((duration * 1000).rounded() / 1000)",
        ]
        if let remote { metadata["remote"] = "\(remote)" }
        logger.info("viewer disconnected: \(reason)", metadata: metadata)
    }
}
