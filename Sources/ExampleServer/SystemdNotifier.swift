import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells systemd how the server is (`sd_notify(3)`'s protocol, without libsystemd): one datagram per message to the
/// Unix socket in `$NOTIFY_SOCKET` (a path, or an abstract name after `@`). Without the variable, nothing is sent.
final class SystemdNotifier: Sendable {
    /// The socket's address, as given (for messages).
    let address: String
    private let socketPath: [UInt8]

    /// The notifier of this process, or `nil` when systemd is not listening (no `NOTIFY_SOCKET`).
    init?(environment: [String: String]) {
        guard let address = environment["NOTIFY_SOCKET"], address.count > 1 else { return nil }
        var path = Array(address.utf8)
        // An abstract socket's name starts with a zero byte where the variable has '@'.
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        guard path.first == 0 || path.first == UInt8(ascii: "/"),
            path.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        else { return nil }
        self.address = address
        self.socketPath = path
    }

    /// Sends one message, such as `READY=1` or `STATUS=serving 2 viewers`; lines are joined with newlines.
    /// - Returns: whether it was sent.
    @discardableResult
    func send(_ lines: String...) -> Bool {
        send(lines)
    }

    /// ``send(_:)-(String...)`` for a list of lines.
    @discardableResult
    func send(_ lines: [String]) -> Bool {
        // A new socket each time: a few messages a minute, and nothing to keep open across a fork.
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in socketPath.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + socketPath.count + (socketPath.first == 0 ? 0 : 1))
        let message = Array(lines.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == message.count
    }

    /// How often systemd wants `WATCHDOG=1` (`WATCHDOG_USEC`, for this process), if it does.
    static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let microseconds = environment["WATCHDOG_USEC"].flatMap({ Int64($0) }), microseconds > 0 else {
            return nil
        }
        if let pid = environment["WATCHDOG_PID"].flatMap({ Int32($0) }), pid != getpid() { return nil }
        return .microseconds(microseconds)
    }
}
