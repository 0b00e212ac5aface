/// How long a ``FrameBroadcaster`` waits before restarting a camera that failed: the delay doubles with each
/// failure in a row, from ``initial`` up to ``maximum``, and starts again at ``initial`` only once the camera has
/// streamed for ``resetAfter``.
///
/// A camera that delivers a frame or two and then fails (a command that prints one image and exits, a device that
/// drops out at once) does not count as recovered, so its restarts slow down to one every ``maximum`` instead of
/// running at the ``initial`` delay forever.
public struct RestartBackoff: Sendable, Hashable {
    /// How long a camera must stream before its failures are forgotten, unless told otherwise: 10 s.
    public static let defaultResetAfter = Duration.seconds(10)

    /// The delay after the first failure.
    public var initial: Duration
    /// The longest delay.
    public var maximum: Duration
    /// How long frames must flow, from the first frame of a run, before the failure count starts again from zero.
    public var resetAfter: Duration

    /// Creates a backoff; `maximum` is raised to `initial` if it is smaller.
    public init(
        initial: Duration = .milliseconds(500),
        maximum: Duration = .seconds(10),
        resetAfter: Duration = defaultResetAfter
    ) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.resetAfter = resetAfter
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
