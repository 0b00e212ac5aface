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
    var frameWaiters: [UInt64: FrameWaiter] = [:]
    /// `framesProduced` at the last heartbeat tick.
    var framesAtLastHeartbeat: UInt64 = 0
    var nextSubscriptionID: UInt64 = 0
    /// Who sees every frame as it is published (recorders, the timeshift ring, playbacks), by observation.
    var frameObservers: [UInt64: @Sendable (Frame) -> Void] = [:]
    var nextObserverID: UInt64 = 0
    /// The run loop, waiting for the subscriber count to change.
    var loopWaiter: CheckedContinuation<Void, Never>?

    var framesProduced: UInt64 = 0
    var rate = FrameRateMeter()
    /// Failures since the camera last streamed for ``RestartBackoff/resetAfter``.
    var consecutiveFailures = 0
    /// When the current run of the camera published its first frame; `nil` before it has.
    var runStreamingSince: Duration?
    var restarts = 0
    var lastError: String?
    var lastErrorTime: Date?
    /// When the camera last started for a viewer.
    var runStartedAt: Date?
    /// The placeholder shown while the camera has no picture; `nil` while it has one.
    var placeholder: PlaceholderFrame?
    /// Placeholders made so far, which numbers them.
    var placeholderCount: UInt64 = 0

    /// The sequence number after which a new subscriber's first frame comes: the newest frame if the camera is
    /// streaming (a viewer sees a picture at once), otherwise the next frame the camera makes.
    var firstSequenceForNewSubscriber: UInt64 {
        guard let latest else { return 0 }
        return phase == .streaming ? latest.sequence - 1 : latest.sequence
    }

    /// The number to publish an image under: the next one, or for a relayed image its origin's number if that is
    /// higher; `nil` for a relayed image with the newest frame's number, which is that frame again.
    func sequence(for image: JPEGImage) -> UInt64? {
        guard let source = image.sourceSequence else { return nextSequence }
        if let latest, latest.sequence == source { return nil }
        return max(source, nextSequence)
    }

    /// Takes the waiting run loop, if the subscriber count just crossed between zero and one.
    mutating func takeLoopWaiter() -> CheckedContinuation<Void, Never>? {
        defer { loopWaiter = nil }
        return loopWaiter
    }
}

/// A subscriber waiting for its next frame.
///
/// The continuation is unsafe (it skips the checked continuation's allocation on every wait) but is resumed exactly
/// once: it is resumed only by whoever removes it from ``BroadcastState/frameWaiters`` under the lock, or, if it
/// never got there, by the code that declined to add it.
struct FrameWaiter {
    let continuation: UnsafeContinuation<FrameSubscription.Event?, Never>
    /// Whether it is to be woken by a heartbeat when the camera delivers nothing new for a heartbeat interval.
    let wantsHeartbeats: Bool
    /// The subscription that waits.
    let subscription: UInt64
}
