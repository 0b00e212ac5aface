import Synchronization

/// A clock whose time moves only when a test says so, and which tells the test when someone sleeps on it.
///
/// With it, a test of a 10-second idle timeout takes milliseconds, and does not guess how long to wait:
///
/// ```swift
/// let clock = ManualClock()
/// // … start something that sleeps for 10 s on `clock` …
/// await clock.waitForSleepers(1)
/// clock.advance(by: .seconds(10))  // the sleeper wakes now
/// ```
public final class ManualClock: Clock, Sendable {
    /// A point in the clock's time: the time elapsed since the clock was made.
    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock was made.
        public var offset: Duration

        /// Creates an instant at a time since the clock was made.
        public init(offset: Duration) {
            self.offset = offset
        }

        /// The instant a duration later.
        public func advanced(by duration: Duration) -> Instant {
            Instant(offset: offset + duration)
        }

        /// The time from this instant to another.
        public func duration(to other: Instant) -> Duration {
            other.offset - offset
        }

        /// Whether an instant comes before another.
        public static func < (lhs: Instant, rhs: Instant) -> Bool {
            lhs.offset < rhs.offset
        }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        mutating func takeSatisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let count = sleepers.count
            let satisfied = watchers.filter { $0.count <= count }.map(\.continuation)
            watchers.removeAll { $0.count <= count }
            return satisfied
        }
    }

    private let state = Mutex(State())

    /// Creates a clock at time zero.
    public init() {}

    /// The current time.
    public var now: Instant { state.withLock { $0.now } }

    /// The smallest step of time: one nanosecond.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// The number of tasks sleeping on the clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// When each task sleeping on the clock now is due, earliest first.
    ///
    /// A sleeper leaves this list the moment ``advance(by:)`` reaches its deadline, before it has even resumed: a
    /// test can check right after an advance that something is still waiting (has not woken and acted yet), which
    /// reading the state the sleeper would change cannot show.
    ///
    /// ```swift
    /// clock.advance(by: .seconds(9))
    /// #expect(clock.sleeperDeadlines == [.init(offset: .seconds(10))])  // the 10 s timer has not fired
    /// ```
    public var sleeperDeadlines: [Instant] {
        state.withLock { $0.sleepers.values.map(\.deadline).sorted() }
    }

    /// Sleeps until the clock has been advanced to `deadline`; returns at once if it has; throws
    /// `CancellationError` when the task is cancelled.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Registration {
                    case due
                    case cancelled
                    case sleeping(watchers: [CheckedContinuation<Void, Never>])
                }
                let registration = state.withLock { state -> Registration in
                    if deadline <= state.now { return .due }
                    if Task.isCancelled { return .cancelled }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .sleeping(watchers: state.takeSatisfiedWatchers())
                }
                var watchers: [CheckedContinuation<Void, Never>] = []
                switch registration {
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .sleeping(let satisfied): watchers = satisfied
                }
                for watcher in watchers { watcher.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the time forward and wakes every sleeper whose deadline has come, earliest first.
    public func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }.sorted {
                $0.value.deadline < $1.value.deadline
            }
            for (id, _) in due { state.sleepers[id] = nil }
            return due.map(\.value.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// Waits until at least `count` tasks sleep on the clock.
    public func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.sleepers.count >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
