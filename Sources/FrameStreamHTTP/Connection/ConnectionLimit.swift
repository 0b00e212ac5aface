public import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cap on a server's open HTTP/1.1 connections, kept below the process's descriptor limit, for the connection
/// handlers of ``MJPEGEndpoints/connectionHandlers(limit:)``.
///
/// A connection over the cap closes the connection that has waited longest for a request (an idle keep-alive
/// connection, or one that has not finished sending its request's head); only when every connection is busy, with
/// a stream or a response, is the new one closed instead. So a host that opens thousands of idle connections
/// cannot lock out new viewers, and streams already running are never cut. The server never runs out of
/// descriptors for its connections, and so never spins on a failing `accept`. Reaching the cap is logged as a
/// warning, at most once every 10 seconds, with the number of connections closed since.
///
/// HTTP/2 streams are not counted: their connection is.
///
/// ```swift
/// let limit = ConnectionLimit.belowDescriptorLimit(logger: logger)
/// let server = HTTPServerBuilder.http1(
///     configuration: .init(additionalChannelHandlers: MJPEGEndpoints.connectionHandlers(limit: limit))
/// )
/// ```
public final class ConnectionLimit: Sendable {
    /// The most connections open at once.
    public let maximumConnections: Int

    private let logger: Logger
    private let state = Mutex(State())

    private struct Entry {
        /// Since when the connection has waited for a request; `nil` while it is busy.
        var idleSince: NIODeadline?
        let close: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var lastWarning: NIODeadline?
        var closedSinceWarning = 0
        var refusedSinceWarning = 0
    }

    /// A cap of `maximumConnections` (at least 1); `logger` gets the warnings.
    public init(maximumConnections: Int, logger: Logger) {
        self.maximumConnections = max(1, maximumConnections)
        self.logger = logger
    }

    /// A cap `reserve` descriptors below the process's limit (`RLIMIT_NOFILE`), which leaves room for cameras,
    /// files and the listening socket.
    public static func belowDescriptorLimit(reserve: Int = 64, logger: Logger) -> ConnectionLimit {
        ConnectionLimit(maximumConnections: descriptorLimit() - reserve, logger: logger)
    }

    /// The process's soft limit on open descriptors.
    public static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceNoFile, &limit) == 0 else { return 1024 }
        // RLIM_INFINITY is all ones, which `clamping` turns into Int.max.
        return min(Int(clamping: limit.rlim_cur), Int(Int32.max))
    }

    /// Connections open now.
    public var openConnections: Int {
        state.withLock { $0.entries.count }
    }

    /// Counts a new connection, closing the longest-idle one when the cap is reached; `nil` means that every
    /// connection is busy and the new one must be closed. `close` closes the connection from any thread.
    func open(close: @escaping @Sendable () -> Void) -> UInt64? {
        let now = NIODeadline.now()
        let (id, victim, warning): (UInt64?, Entry?, String?) = state.withLock { state in
            var victim: Entry?
            if state.entries.count >= maximumConnections {
                // Busy connections (no idle time) sort last, and are never taken.
                let oldest = state.entries.min {
                    ($0.value.idleSince ?? .distantFuture) < ($1.value.idleSince ?? .distantFuture)
                }
                if let oldest, oldest.value.idleSince != nil {
                    victim = state.entries.removeValue(forKey: oldest.key)
                    state.closedSinceWarning += 1
                } else {
                    state.refusedSinceWarning += 1
                }
            }
            var warning: String?
            if state.closedSinceWarning + state.refusedSinceWarning > 0,
                state.lastWarning.map({ now - $0 >= .seconds(10) }) ?? true
            {
                warning =
                    "connection limit of \(maximumConnections) reached: closed \(state.closedSinceWarning) idle "
                    + "connections and refused \(state.refusedSinceWarning) new ones"
                    + (state.lastWarning == nil ? "" : " in the last 10 s or more")
                state.lastWarning = now
                state.closedSinceWarning = 0
                state.refusedSinceWarning = 0
            }
            guard state.entries.count < maximumConnections else { return (nil, nil, warning) }
            state.nextID += 1
            state.entries[state.nextID] = Entry(idleSince: now, close: close)
            return (state.nextID, victim, warning)
        }
        if let warning { logger.warning("\(warning)") }
        victim?.close()
        return id
    }

    /// Marks a connection as waiting for a request (idle) or busy.
    func setIdle(_ idle: Bool, id: UInt64) {
        state.withLock { state in
            guard var entry = state.entries[id] else { return }
            entry.idleSince = idle ? (entry.idleSince ?? .now()) : nil
            state.entries[id] = entry
        }
    }

    /// Forgets a closed connection.
    func closed(id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    #if os(Linux)
    private static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNoFile = RLIMIT_NOFILE
    #endif
}
