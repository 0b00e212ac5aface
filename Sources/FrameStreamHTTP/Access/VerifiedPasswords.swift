import Crypto
import Foundation
import HummingbirdBasicAuth
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Checks passwords against bcrypt hashes, and remembers a good one for a while, so that a browser, which sends its
/// password with every request, does not cost a bcrypt computation (about a quarter of a second of CPU at cost 12)
/// per snapshot or stream.
///
/// What is remembered is an HMAC of the user name and password with a key made at random when the process starts,
/// never the password; a wrong password is checked with bcrypt every time.
final class VerifiedPasswords: Sendable, CustomReflectable {
    private let hashes: [String: String]
    private let lifetime: Duration
    private let uptime: @Sendable () -> Duration
    private let key = SymmetricKey(size: .bits256)
    private let remembered = Mutex<[String: (code: Data, until: Duration)]>([:])
    /// A hash to check unknown users against, so that they take as long as known ones; made on first use.
    private let unknownUserHash = Mutex<String?>(nil)

    /// No children for `dump`: hashes and remembered passwords never appear in logs.
    var customMirror: Mirror { Mirror(self, children: [:]) }

    init(hashes: [String: String], lifetime: Duration, uptime: @escaping @Sendable () -> Duration) {
        // `$2y$` (PHP's and htpasswd's name for the same algorithm) is `$2b$` to this bcrypt.
        self.hashes = hashes.mapValues { $0.hasPrefix("$2y$") ? "$2b$" + $0.dropFirst(4) : $0 }
        self.lifetime = lifetime
        self.uptime = uptime
    }

    /// The hash for unknown users, at the same cost as the users' own, so that an unknown name answers as slowly
    /// as a known one.
    private func hashForUnknownUsers() -> String {
        if let hash = unknownUserHash.withLock({ $0 }) { return hash }
        let cost = hashes.values.compactMap { UInt8($0.dropFirst(4).prefix(2)) }.max() ?? 12
        let hash = Bcrypt.hash(UUID().uuidString, cost: min(max(cost, 4), 31))
        unknownUserHash.withLock { $0 = hash }
        return hash
    }

    /// What checking a password found.
    enum Verdict: Equatable {
        /// The same good password as within the last ``lifetime``.
        case remembered
        /// A good password, checked with bcrypt.
        case verified
        /// A wrong password, or an unknown user.
        case wrong
    }

    /// Whether `password` is `user`'s.
    func verify(user: String, password: String) async throws -> Verdict {
        let code = Data(HMAC<SHA256>.authenticationCode(for: Data("\(user)\u{0}\(password)".utf8), using: key))
        let now = uptime()
        let known = remembered.withLock { remembered -> Bool in
            guard let entry = remembered[user], entry.until > now else { return false }
            return entry.code == code
        }
        if known { return .remembered }
        guard let hash = hashes[user] else {
            let hash = try await NIOThreadPool.singleton.runIfActive { self.hashForUnknownUsers() }
            _ = try await BcryptPasswordVerifier().verifyPassword(password, createsHash: hash)
            return .wrong
        }
        guard try await BcryptPasswordVerifier().verifyPassword(password, createsHash: hash) else { return .wrong }
        remembered.withLock { $0[user] = (code, uptime() + lifetime) }
        return .verified
    }
}
