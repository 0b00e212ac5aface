import Synchronization

/// Slows down and then locks out an address that keeps sending wrong passwords.
///
/// Each failed login from an address within ``Configuration/window`` counts. From the
/// ``Configuration/slowdownAfter``th on, each answer is delayed a little more; at ``Configuration/maxFailures`` the
/// address is locked out for ``Configuration/lockout``, during which it gets `429 Too Many Requests` without its
/// password being checked. A good password clears the address's count.
public final class LoginThrottle: Sendable {
    /// When the throttle slows down and locks out.
    public struct Configuration: Sendable, Hashable {
        /// Failures within ``window`` that lock an address out.
        public var maxFailures: Int
        /// How far back failures count.
        public var window: Duration
        /// How long a locked-out address stays locked out.
        public var lockout: Duration
        /// The failure from which answers are delayed (the first ones are typing mistakes).
        public var slowdownAfter: Int
        /// How much longer each further failure's answer is delayed, up to ``maxSlowdown``.
        public var slowdownStep: Duration
        /// The longest delay.
        public var maxSlowdown: Duration

        /// Creates a configuration; the default locks an address out for 5 minutes after 10 failures in 5 minutes.
        public init(
            maxFailures: Int = 10,
            window: Duration = .seconds(300),
            lockout: Duration = .seconds(300),
            slowdownAfter: Int = 3,
            slowdownStep: Duration = .milliseconds(500),
            maxSlowdown: Duration = .seconds(3)
        ) {
            self.maxFailures = maxFailures
            self.window = window
            self.lockout = lockout
            self.slowdownAfter = slowdownAfter
            self.slowdownStep = slowdownStep
            self.maxSlowdown = maxSlowdown
        }
    }

    /// What a failed login leads to.
    public enum Verdict: Sendable, Hashable {
        /// Answer `401` after this delay (zero for the first failures).
        case retry(after: Duration, failures: Int)
        /// The address is now locked out for this long.
        case lockedOut(for: Duration, failures: Int)
    }

    /// The most addresses remembered; past it the oldest record is forgotten, so that a flood of addresses costs
    /// bounded memory.
    static let maxAddresses = 10_000

    private struct Record {
        var failures: [Duration] = []
        var lockedUntil: Duration?
        var lastSeen: Duration = .zero
    }

    /// The configuration.
    public let configuration: Configuration
    private let uptime: @Sendable () -> Duration
    private let records = Mutex<[String: Record]>([:])

    /// Creates a throttle.
    /// - Parameters:
    ///   - configuration: when to slow down and lock out.
    ///   - uptime: a monotonic time; tests pass a clock of their own.
    public init(configuration: Configuration = Configuration(), uptime: @escaping @Sendable () -> Duration) {
        self.configuration = configuration
        self.uptime = uptime
    }

    /// How much longer `address` is locked out, or `nil` if it is not.
    public func lockout(of address: String) -> Duration? {
        let now = uptime()
        return records.withLock { records in
            guard let until = records[address]?.lockedUntil else { return nil }
            if until > now { return until - now }
            records[address] = nil
            return nil
        }
    }

    /// Counts a failed login from `address`.
    public func recordFailure(from address: String) -> Verdict {
        let now = uptime()
        let configuration = configuration
        return records.withLock { records in
            var record = records[address] ?? Record()
            record.failures.removeAll { now - $0 >= configuration.window }
            record.failures.append(now)
            record.lastSeen = now
            let failures = record.failures.count
            let verdict: Verdict
            if failures >= configuration.maxFailures {
                record.lockedUntil = now + configuration.lockout
                record.failures = []
                verdict = .lockedOut(for: configuration.lockout, failures: failures)
            } else if failures >= configuration.slowdownAfter {
                let steps = failures - configuration.slowdownAfter + 1
                verdict = .retry(
                    after: min(configuration.slowdownStep * steps, configuration.maxSlowdown),
                    failures: failures
                )
            } else {
                verdict = .retry(after: .zero, failures: failures)
            }
            records[address] = record
            if records.count > Self.maxAddresses {
                Self.forgetOldest(in: &records, now: now, window: configuration.window)
            }
            return verdict
        }
    }

    /// Clears the failures of `address` after a good password.
    public func recordSuccess(from address: String) {
        records.withLock { records in
            if records[address]?.lockedUntil == nil { records[address] = nil }
        }
    }

    /// How many addresses the throttle remembers.
    var addressCount: Int { records.withLock { $0.count } }

    private static func forgetOldest(in records: inout [String: Record], now: Duration, window: Duration) {
        records = records.filter { _, record in
            (record.lockedUntil.map { $0 > now } ?? false) || now - record.lastSeen < window
        }
        while records.count > maxAddresses, let oldest = records.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
            records[oldest.key] = nil
        }
    }
}
