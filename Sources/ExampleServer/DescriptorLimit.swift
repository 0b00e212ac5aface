import FrameStreamHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many files (so connections) the server may have open, and what it says when its limits ask for more.
enum DescriptorLimit {
    /// Descriptors kept for everything but connections: the listener, devices, pipes, logs.
    static let reserve = 64

    /// Raises the soft limit on open files to the hard limit, as a server with many viewers needs, and returns it.
    static func raise() -> Int {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        if getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &limit)
        }
        return ConnectionLimit.descriptorLimit()
    }

    /// The most connections the server keeps open: `--max-connections`, but never more than the descriptors allow.
    static func connections(_ server: ServerConfiguration, descriptors: Int) -> Int {
        min(server.maxConnections ?? 16_384, max(descriptors - reserve, 16))
    }

    /// A warning for each limit that the descriptors cannot honour: `--max-connections`, and each camera's
    /// `--max-clients` (whose viewers past the connection cap are refused, or close idle connections).
    static func warnings(_ server: ServerConfiguration, descriptors: Int) -> [String] {
        let cap = connections(server, descriptors: descriptors)
        let advice =
            "the open-file limit is \(descriptors) (raise it with 'ulimit -n' or LimitNOFILE= in the service unit)"
        var warnings: [String] = []
        if let asked = server.maxConnections, asked > cap {
            warnings.append("--max-connections \(asked) is more than this process can open: at most \(cap); \(advice)")
        }
        for camera in server.cameras where camera.maxClients > cap {
            warnings.append(
                "camera '\(camera.name)': --max-clients \(camera.maxClients) is more than the \(cap) connections "
                    + "this process can open; \(advice)"
            )
        }
        return warnings
    }
}
