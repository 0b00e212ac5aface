import Logging
import Synchronization

/// Keeps a message that repeats from flooding the log: the first time it is logged, then, while it keeps coming,
/// at most once per ``interval``, as `… (repeated N times)`: N counts it and the times it was held back since
/// the last line.
///
/// A different message is logged at once (and starts a new count). Shared by the runs of one camera, so that a
/// camera that fails the same way on every restart writes one line a minute, not one a second.
final class LogRepetitionLimiter: Sendable {
    /// How often a repeated message is logged at most: once a minute.
    static let defaultInterval = Duration.seconds(60)

    private struct State {
        var message: String?
        var loggedAt: Duration = .zero
        var heldBack = 0
    }

    let interval: Duration
    private let clock: FrameClock
    private let state = Mutex(State())

    init(interval: Duration = defaultInterval, clock: FrameClock) {
        self.interval = interval
        self.clock = clock
    }

    /// The line to log for `message` now, or `nil` to hold it back.
    func line(for message: String) -> String? {
        let now = clock.now()
        return state.withLock { state in
            guard message == state.message else {
                state = State(message: message, loggedAt: now, heldBack: 0)
                return message
            }
            guard now - state.loggedAt >= interval else {
                state.heldBack += 1
                return nil
            }
            defer {
                state.loggedAt = now
                state.heldBack = 0
            }
            return state.heldBack == 0 ? message : "\(message) (repeated \(state.heldBack + 1) times)"
        }
    }

    /// Forgets the last message: the next one is logged whatever it is (after a recovery, a failure is news).
    func reset() {
        state.withLock { $0 = State() }
    }

    /// Logs `message` at `level`, unless it is held back as a repeat.
    func log(
        _ message: String,
        level: Logger.Level,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        to logger: Logger
    ) {
        guard let line = line(for: message) else { return }
        logger.log(level: level, "\(line)", metadata: metadata())
    }
}
