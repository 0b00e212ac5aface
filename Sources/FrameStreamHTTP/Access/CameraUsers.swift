/// The users of a server and which cameras each may watch.
///
/// Passwords are kept only as bcrypt hashes (make one with `ExampleServer hash-password`, or `Bcrypt.hash` from
/// HummingbirdBcrypt). A camera without a list of its own is open to every user.
///
/// ```swift
/// let users = CameraUsers(
///     passwordHashes: ["alice": aliceHash, "bob": bobHash],
///     camerasUsers: ["front": ["alice"]]  // only alice sees front; every user sees the others
/// )
/// ```
public struct CameraUsers: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Each user's bcrypt password hash, by user name.
    public var passwordHashes: [String: String]
    /// For the cameras that are not open to every user, the users who may watch them.
    public var camerasUsers: [String: Set<String>]

    /// Creates the table of users.
    public init(passwordHashes: [String: String] = [:], camerasUsers: [String: Set<String>] = [:]) {
        self.passwordHashes = passwordHashes
        self.camerasUsers = camerasUsers
    }

    /// Whether the server has no users: then nobody is asked for a password.
    public var isEmpty: Bool { passwordHashes.isEmpty }

    /// The user names, sorted.
    public var names: [String] { passwordHashes.keys.sorted() }

    /// The cameras a user may watch, of those given; `nil` for all of them.
    public func cameras(for user: String, of cameras: [String]) -> Set<String>? {
        let restricted = cameras.filter { camerasUsers[$0].map { !$0.contains(user) } ?? false }
        return restricted.isEmpty ? nil : Set(cameras).subtracting(restricted)
    }

    /// Whether a string has the form of a bcrypt hash (`$2a$`, `$2b$` or `$2y$`, a cost, 53 characters of salt and
    /// hash), which is all the server can check of it before someone logs in.
    public static func isBcryptHash(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 60, text.hasPrefix("$2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")]
                .contains(bytes[2]), bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
            let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost)
        else { return false }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return bytes[7...].allSatisfy(alphabet.contains)
    }

    /// The user names and which cameras each may watch, never a hash.
    public var description: String {
        "CameraUsers(users: \(names), restricted cameras: \(camerasUsers.keys.sorted()))"
    }

    /// The same as ``description``: no hash.
    public var debugDescription: String { description }

    /// The user names and restricted cameras, for `dump`: no hash.
    public var customMirror: Mirror {
        Mirror(self, children: ["users": names, "restrictedCameras": camerasUsers.keys.sorted()])
    }
}
