public import Crypto
public import Foundation

/// Signs and checks links to a stream or a snapshot that work without a password until they expire, for an `<img>`
/// or a dashboard that cannot send an `Authorization` header.
///
/// A link is the path with `?exp=UNIX_SECONDS&sig=SIGNATURE`: HMAC-SHA256, with the server's key, of the path, the
/// expiry and the user who asked for it (``CameraAccess`` signs the user's name with the user's password hash, so
/// that a new password ends the old links). Changing any of them, or the key, makes the signature wrong. The user
/// is not in the link: checking tries each user, so a link stops working when its user is removed.
///
/// ```swift
/// let signer = StreamLinkSigner(key: StreamLinkSigner.generateKey())
/// let query = signer.query(path: "/cameras/front/stream", expires: 1_800_000_000, user: "alice")
/// // "/cameras/front/stream?" + query works until 1_800_000_000 (2027-01-15)
/// ```
public struct StreamLinkSigner: Sendable, CustomStringConvertible, CustomReflectable {
    /// What checking a link found.
    public enum Verdict: Sendable, Hashable {
        /// The link is good, and was made for this user.
        case valid(user: String)
        /// The signature is right but the link has expired.
        case expired(user: String)
        /// The signature is missing, malformed or wrong for this path and expiry (tampered with, made for another
        /// address, or made with an earlier key).
        case invalid
    }

    private let key: SymmetricKey

    /// `StreamLinkSigner(key: <hidden>)`: the key never appears in logs.
    public var description: String { "StreamLinkSigner(key: <hidden>)" }

    /// No children for `dump`: the key never appears in logs.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Creates a signer with a key (at least 16 bytes; ``generateKey()`` makes 32 random ones).
    public init(key: SymmetricKey) {
        self.key = key
    }

    /// A new random 256-bit key.
    public static func generateKey() -> SymmetricKey {
        SymmetricKey(size: .bits256)
    }

    /// The query (`exp=…&sig=…`) that makes `path` work for `user` until `expires` (Unix seconds).
    public func query(path: String, expires: Int, user: String) -> String {
        "exp=\(expires)&sig=\(signature(path: path, expires: expires, user: user))"
    }

    /// The signature of a path, an expiry and a user, in unpadded URL-safe base64.
    public func signature(path: String, expires: Int, user: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Self.message(path, expires, user), using: key)
        return Data(code).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Checks the `exp` and `sig` of a request for `path` against each of `users`, at time `now`.
    public func verify(path: String, expires: String?, signature: String, users: [String], now: Date) -> Verdict {
        guard let expires, expires.count <= 12, let expiry = Int(expires), expiry > 0,
            let code = Self.decode(signature), code.count == SHA256.byteCount
        else { return .invalid }
        for user in users
        where HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.message(path, expiry, user), using: key)
        {
            return Double(expiry) > now.timeIntervalSince1970 ? .valid(user: user) : .expired(user: user)
        }
        return .invalid
    }

    private static func message(_ path: String, _ expires: Int, _ user: String) -> Data {
        // Separated by a byte that none of them can hold, so that no two different triples sign the same bytes.
        Data("framestream-link-v1\u{0}\(path)\u{0}\(expires)\u{0}\(user)".utf8)
    }

    private static func decode(_ text: String) -> Data? {
        guard text.count <= 64 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
