/// Paces a synthetic camera: the first frame at once, then one every interval on a fixed schedule, without trying
/// to catch up on frames a slow consumer missed.
struct FramePacer: Sendable {
    let clock: FrameClock
    let interval: Duration
    private var deadline: Duration?

    init(clock: FrameClock, framesPerSecond: Double) {
        self.clock = clock
        self.interval = .seconds(1 / framesPerSecond)
    }

    /// Waits until the next frame is due; throws `CancellationError` when the task is cancelled.
    mutating func waitForNextFrame() async throws {
        if let deadline {
            try await clock.sleep(until: deadline)
        } else {
            try Task.checkCancellation()
        }
        let now = clock.now()
        let next = (deadline ?? now) + interval
        deadline = next > now ? next : now + interval
    }
}
