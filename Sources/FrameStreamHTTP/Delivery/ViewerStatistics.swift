import Logging

/// What one viewer's stream delivered, for the line logged when it ends.
struct ViewerStatistics {
    /// Parts written: frames, and the last frame again as a heartbeat.
    var partsSent = 0
    /// Frames the camera made that this viewer never got, because it was slower than the camera.
    var framesSkipped: UInt64 = 0
    /// Bytes handed to the connection, the stream's first boundary included.
    var bytesSent = 0
    private var lastSequence: UInt64?
    private let startedAt = ContinuousClock.now

    /// Counts a frame about to be sent, and the frames between it and the previous one as skipped.
    mutating func countFrame(sequence: UInt64) {
        if let lastSequence, sequence > lastSequence + 1 {
            framesSkipped += sequence - lastSequence - 1
        }
        lastSequence = max(lastSequence ?? 0, sequence)
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
