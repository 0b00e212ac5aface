/// Any `Clock` measured in `Duration`, reduced to what pacing and timeouts need: time since the handle was made,
/// and a sleep until such a time. It lets drivers, the broadcaster and stream writers take any clock (a manual one
/// in tests) without being generic over it.
package struct FrameClock: Sendable {
    /// Time elapsed since this handle was made.
    package let now: @Sendable () -> Duration
    private let sleepUntil: @Sendable (Duration) async throws -> Void

    /// Wraps a clock; its time zero is now.
    package init<C: Clock<Duration>>(_ clock: C) {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleepUntil = { try await clock.sleep(until: origin.advanced(by: $0), tolerance: nil) }
    }

    /// Sleeps until ``now`` reaches `deadline`; throws `CancellationError` when the task is cancelled.
    package func sleep(until deadline: Duration) async throws {
        try await sleepUntil(deadline)
    }

    /// Sleeps for a while; throws `CancellationError` when the task is cancelled.
    package func sleep(for duration: Duration) async throws {
        try await sleepUntil(now() + duration)
    }
}
