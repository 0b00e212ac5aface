import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd's socket activation (`LISTEN_FDS`, as `sd_listen_fds(3)` reads it): the listening socket systemd holds
/// for the server, which then starts on the first connection and takes over the port without binding it.
enum SocketActivation {
    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    static let firstDescriptor: CInt = 3

    /// The listening socket passed to this process, if any; the variables are then removed from the environment,
    /// so that programs the server starts do not take the socket for theirs.
    /// - Throws: ``StartupError`` when sockets were passed but the first is no listening stream socket.
    static func listeningSocket(environment: [String: String]) throws(StartupError) -> CInt? {
        guard let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count > 0 else { return nil }
        // The sockets are for the process systemd started, not for a child that inherited the variables.
        if let pid = environment["LISTEN_PID"].flatMap({ Int32($0) }), pid != getpid() { return nil }
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDNAMES")
        let socket = firstDescriptor
        var accepting: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting != 0 else {
            throw StartupError(
                "LISTEN_FDS is set but descriptor 3 is not a listening socket: use ListenStream= in the .socket unit"
            )
        }
        var type: CInt = 0
        length = socklen_t(MemoryLayout<CInt>.size)
        if getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type != CInt(SOCK_STREAM.rawValue) {
            throw StartupError("LISTEN_FDS is set but descriptor 3 is not a stream socket: use ListenStream=")
        }
        _ = fcntl(socket, F_SETFD, FD_CLOEXEC)
        if count > 1 {
            Logger(label: "FrameStream").warning(
                "systemd passed \(count) sockets: the server listens on the first one only"
            )
        }
        return socket
    }
}
