import FrameStream
import Synchronization

/// The playback sessions of one camera: each a ``Playback`` that a player controls by id, alive while its stream is
/// open and for a grace period after (so that a player can reconnect), and bound to the user who made it.
final class PlaybackSessions: Sendable {
    private struct Session {
        let playback: Playback
        /// The user who made it; `nil` on a server without users.
        let owner: String?
        var openStreams = 0
        /// Since when no stream has been open.
        var idleSince: ContinuousClock.Instant?
    }

    /// How long a session lives with no stream open.
    let gracePeriod: Duration
    /// The most sessions at once.
    let maximum: Int
    private let sessions = Mutex<[String: Session]>([:])

    init(gracePeriod: Duration = .seconds(30), maximum: Int) {
        self.gracePeriod = gracePeriod
        self.maximum = maximum
    }

    /// Adds a session; `nil` when there are ``maximum`` already.
    func create(_ playback: Playback, owner: String?) -> String? {
        let id = Self.newID()
        let now = ContinuousClock.now
        return sessions.withLock { sessions in
            sweep(&sessions, now: now)
            guard sessions.count < maximum else { return nil }
            sessions[id] = Session(playback: playback, owner: owner, idleSince: now)
            return id
        }
    }

    /// The session's playback, if it exists and belongs to `owner`.
    func playback(_ id: String, owner: String?) -> Playback? {
        let now = ContinuousClock.now
        return sessions.withLock { sessions in
            sweep(&sessions, now: now)
            guard let session = sessions[id], session.owner == owner else { return nil }
            return session.playback
        }
    }

    /// Counts a stream of the session as open (`true`) or closed.
    func stream(of id: String, isOpen: Bool) {
        sessions.withLock { sessions in
            guard var session = sessions[id] else { return }
            session.openStreams += isOpen ? 1 : -1
            session.idleSince = session.openStreams > 0 ? nil : ContinuousClock.now
            sessions[id] = session
        }
    }

    /// How many sessions exist.
    var count: Int { sessions.withLock { $0.count } }

    private func sweep(_ sessions: inout [String: Session], now: ContinuousClock.Instant) {
        sessions = sessions.filter { _, session in
            guard let idleSince = session.idleSince else { return true }
            return now - idleSince < gracePeriod
        }
    }

    /// 128 random bits from the system's generator, as 32 hex digits.
    private static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return [
            UInt64.random(in: .min ... .max, using: &generator), UInt64.random(in: .min ... .max, using: &generator),
        ]
        .map { String($0, radix: 16).leftPadded(to: 16) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
