/// Any `Clock` measured in `Duration`, reduced to what pacing and timeouts need: time since the clock handle was
/// made, and a sleep until such a time. It lets drivers and the broadcaster take any clock (a manual one in tests)
/// without being generic over it.
struct FrameClock: Sendable {
    /// Time elapsed since this handle was made.
    let now: @Sendable () -> Duration
    /// Sleeps until `now()` reaches the given time; throws `CancellationError` when the task is cancelled.
    let sleepUntil: @Sendable (Duration) async throws -> Void

    init<C: Clock<Duration>>(_ clock: C) {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleepUntil = { try await clock.sleep(until: origin.advanced(by: $0), tolerance: nil) }
    }

    func sleep(until deadline: Duration) async throws {
        try await sleepUntil(deadline)
    }

    func sleep(for duration: Duration) async throws {
        try await sleepUntil(now() + duration)
    }
}
