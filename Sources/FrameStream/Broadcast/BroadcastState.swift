import struct Foundation.Date

/// Everything a ``FrameBroadcaster`` knows, kept under one lock.
struct BroadcastState {
    enum Lifecycle {
        case notStarted
        case running
        case shutDown
    }

    var lifecycle = Lifecycle.notStarted
    var phase = CameraPhase.stopped

    /// The newest frame; only ever replaced, never queued.
    var latest: Frame?
    var nextSequence: UInt64 = 1

    var subscribers = 0
    /// When the subscriber count last fell to zero, on the broadcaster's clock.
    var lastSubscriberLeftAt: Duration = .zero
    /// Subscribers waiting for a frame newer than the one they have, by wait.
    var frameWaiters: [UInt64: CheckedContinuation<Frame?, Never>] = [:]
    /// The run loop, waiting for the subscriber count to change.
    var loopWaiter: CheckedContinuation<Void, Never>?

    var framesProduced: UInt64 = 0
    var rate = FrameRateMeter()
    var consecutiveFailures = 0
    var restarts = 0
    var lastError: String?
    var lastErrorTime: Date?

    /// The sequence number after which a new subscriber's first frame comes: the newest frame if the camera is
    /// streaming (a viewer sees a picture at once), otherwise the next frame the camera makes.
    var firstSequenceForNewSubscriber: UInt64 {
        guard let latest else { return 0 }
        return phase == .streaming ? latest.sequence - 1 : latest.sequence
    }

    /// Takes the waiting run loop, if the subscriber count just crossed between zero and one.
    mutating func takeLoopWaiter() -> CheckedContinuation<Void, Never>? {
        defer { loopWaiter = nil }
        return loopWaiter
    }
}
