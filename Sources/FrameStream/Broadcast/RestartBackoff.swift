/// How long a ``FrameBroadcaster`` waits before restarting a camera that failed: the delay doubles with each
/// failure in a row, from ``initial`` up to ``maximum``, and starts again at ``initial`` once a frame arrives.
public struct RestartBackoff: Sendable, Hashable {
    /// The delay after the first failure.
    public var initial: Duration
    /// The longest delay.
    public var maximum: Duration

    /// Creates a backoff; `maximum` is raised to `initial` if it is smaller.
    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay after `failures` failures in a row (1 for the first).
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, failures) where delay < maximum {
            delay *= 2
        }
        return min(delay, maximum)
    }
}
