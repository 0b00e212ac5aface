import FrameStream
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

    /// The top-level keys of a configuration file.
    static let keys = ["host", "port", "requestTimeout", "maxConnections", "logLevel", "cameras"]

    /// The first value that cannot be used, if any: `(camera, problem)`, with no camera for a server-wide key.
    func problem() -> (camera: String?, problem: CameraConfiguration.Problem)? {
        if !(0...65535).contains(port) {
            return (nil, .init(key: "port", expected: "from 0 to 65535"))
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
        for camera in cameras {
            if let problem = camera.problem() { return (camera.name, problem) }
        }
        return nil
    }
}
