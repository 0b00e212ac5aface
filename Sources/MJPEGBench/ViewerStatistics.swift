/// What one simulated viewer saw.
struct ViewerStatistics: Sendable {
    var isSlow = false
    var frames = 0
    var duplicates = 0
    var bytes = 0
    /// Seconds from capture (`X-Timestamp`) to the part's last byte, for frames after the warm-up.
    var latencies: [Double] = []
    /// Frames after the warm-up, for the rate.
    var measuredFrames = 0
    var firstFrameAfter: Double?
    var error: String?
    var lastSequence: UInt64 = 0
}
