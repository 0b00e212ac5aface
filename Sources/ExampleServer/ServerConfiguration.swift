import FrameStream
import FrameStreamHTTP
import Logging

/// What the server serves, where: from `--config FILE` with the command line's flags on top, or from the command
/// line alone.
struct ServerConfiguration: Equatable, Sendable {
    var host = "127.0.0.1"
    var port = 5000
    var logLevel = Logger.Level.info
    /// Seconds a connection may take to send a request's head, and may stay idle between requests.
    var requestTimeout: Double = 10
    /// The most open connections; `nil` for the descriptor limit less a reserve.
    var maxConnections: Int?
    /// In the order given; the first one also has the single-camera addresses.
    var cameras: [CameraConfiguration]
    /// Each user's bcrypt password hash, by name; none for a server open to everyone.
    var users: [String: String] = [:]
    /// HTTPS instead of HTTP, with HTTP/2 offered by ALPN.
    var tls: TLSFiles?
    /// The key of signed links, as text (at least 16 characters).
    var signingKey: String?
    /// A file with the key of signed links, made (mode 0600) if it does not exist.
    var signingKeyFile: String?
    /// The `Access-Control-Allow-Origin` for other web sites' pages (`*` or an origin); `nil` for none.
    var allowOrigin: String?
    /// The most open streams from one client address; `nil` for no limit.
    var maxStreamsPerAddress: Int?
    /// Failed logins from one address within `lockoutWindow` seconds that lock it out for `lockoutDuration`.
    var lockoutFailures = 10
    var lockoutWindow: Double = 300
    var lockoutDuration: Double = 300
    /// Where a listener of its own serves `/metrics`, without users; with no port, `/metrics` is on the main port.
    var metricsHost = "127.0.0.1"
    var metricsPort: Int?
    /// The most bytes the recordings in one folder may take, all cameras together; `nil` for no limit.
    var recordingsMaxBytes: Int64?

    /// The certificate chain and private key of HTTPS, PEM files.
    struct TLSFiles: Equatable, Sendable {
        var certificate: String
        var key: String
    }

    /// The top-level keys of a configuration file.
    static let keys = [
        "host", "port", "requestTimeout", "maxConnections", "logLevel", "users", "tls", "signingKey",
        "signingKeyFile", "allowOrigin", "maxStreamsPerAddress", "lockout", "recordings", "metricsHost", "metricsPort",
        "cameras",
    ]

    /// The first value that cannot be used, if any: `(camera, problem)`, with no camera for a server-wide key.
    func problem() -> (camera: String?, problem: CameraConfiguration.Problem)? {
        if !(0...65535).contains(port) {
            return (nil, .init(key: "port", expected: "from 0 to 65535"))
        }
        if let metricsPort, !(0...65535).contains(metricsPort) {
            return (nil, .init(key: "metricsPort", expected: "from 0 to 65535"))
        }
        if metricsHost.isEmpty {
            return (nil, .init(key: "metricsHost", expected: "an address such as 127.0.0.1"))
        }
        if !(requestTimeout >= 0.01 && requestTimeout <= 86_400) {
            return (nil, .init(key: "requestTimeout", expected: "from 0.01 seconds to a day (86400)"))
        }
        if let maxConnections, !(1...10_000_000).contains(maxConnections) {
            return (nil, .init(key: "maxConnections", expected: "from 1 to 10000000"))
        }
        if host.isEmpty {
            return (nil, .init(key: "host", expected: "an address such as 127.0.0.1 or 0.0.0.0"))
        }
        if cameras.isEmpty {
            return (nil, .init(key: "cameras", expected: "at least one camera"))
        }
        if let problem = accessProblem() { return (nil, problem) }
        for camera in cameras {
            if let problem = camera.problem() { return (camera.name, problem) }
            for user in camera.users ?? [] where users[user] == nil {
                let known =
                    users.isEmpty ? "no users are configured" : "known: \(users.keys.sorted().joined(separator: ", "))"
                return (
                    camera.name,
                    .init(key: "users", expected: "names of configured users ('\(user)' is not one; \(known))")
                )
            }
        }
        return nil
    }

    /// The first problem with the users, keys and limits of access.
    private func accessProblem() -> CameraConfiguration.Problem? {
        for (name, hash) in users.sorted(by: { $0.key < $1.key }) {
            if name.isEmpty || name.contains(":")
                || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            {
                return .init(key: "users", expected: "user names without ':' or control characters")
            }
            if !CameraUsers.isBcryptHash(hash) {
                return .init(
                    key: "users",
                    expected:
                        "a bcrypt hash for each user ('\(name)' has something else; make one with ExampleServer hash-password)"
                )
            }
        }
        if let signingKey, signingKey.utf8.count < 16 {
            return .init(key: "signingKey", expected: "at least 16 characters (or use signingKeyFile)")
        }
        if signingKey != nil, signingKeyFile != nil {
            return .init(key: "signingKey", expected: "given without signingKeyFile: one key, not two")
        }
        if let maxStreamsPerAddress, !(1...1_000_000).contains(maxStreamsPerAddress) {
            return .init(key: "maxStreamsPerAddress", expected: "from 1 to 1000000")
        }
        if let allowOrigin, allowOrigin.isEmpty || allowOrigin.contains(where: \.isWhitespace) {
            return .init(key: "allowOrigin", expected: "* or an origin such as https://dashboard.example.org")
        }
        if !(1...1_000_000).contains(lockoutFailures) {
            return .init(key: "lockout", expected: "failures from 1 to 1000000")
        }
        if !(lockoutWindow >= 1 && lockoutWindow <= 86_400) || !(lockoutDuration >= 1 && lockoutDuration <= 86_400) {
            return .init(key: "lockout", expected: "window and duration from 1 second to a day (86400)")
        }
        return nil
    }
}
