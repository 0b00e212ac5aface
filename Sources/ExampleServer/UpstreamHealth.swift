import FrameStream
import FrameStreamHTTP
import Synchronization

/// Whether the servers that this one relays cameras from (cameras with the `http` driver: a relay's origin, an IP
/// camera) can be reached: what `/healthz` answers, so that a load balancer sends no new viewers to a relay that
/// could show them nothing.
///
/// A camera that is streaming proves its upstream reachable. One that is stopped (no viewers: a relay keeps no
/// connection then), starting or retrying is checked by asking its server for `/healthz`
/// (``HTTPCamera/checkReachable(timeout:)``), at most once per ``checkInterval``, however often the balancers ask.
/// An upstream that answers but has no picture (its own camera failed) counts as reachable: its viewers get
/// placeholders here, as they would there.
final class UpstreamHealth: Sendable {
    /// A relayed camera.
    struct Upstream: Sendable {
        var broadcaster: FrameBroadcaster
        var camera: HTTPCamera
    }

    /// How long a check's answer is reused.
    static let checkInterval: Duration = .seconds(1)
    /// How long an upstream has to answer a check.
    static let checkTimeout: Duration = .seconds(2)

    private let upstreams: [Upstream]
    private let clock = ContinuousClock()
    /// Each upstream's last check: when it ended, and whether the upstream answered.
    private let checks: Mutex<[Int: (at: ContinuousClock.Instant, reachable: Bool)]> = Mutex([:])

    /// Watches the cameras among `sources` that relay another server's stream.
    init(_ sources: [(source: any FrameSource, broadcaster: FrameBroadcaster)]) {
        upstreams = sources.compactMap { source, broadcaster in
            (source as? HTTPCamera).map { Upstream(broadcaster: broadcaster, camera: $0) }
        }
    }

    /// Whether every relayed camera's upstream is reachable; true for a server that relays none.
    func isHealthy() async -> Bool {
        for index in upstreams.indices where !(await isReachable(index)) {
            return false
        }
        return true
    }

    private func isReachable(_ index: Int) async -> Bool {
        let upstream = upstreams[index]
        if upstream.broadcaster.status.phase == .streaming { return true }
        let now = clock.now
        if let last = checks.withLock({ $0[index] }), now - last.at < Self.checkInterval {
            return last.reachable
        }
        let reachable: Bool
        do {
            try await upstream.camera.checkReachable(timeout: Self.checkTimeout)
            reachable = true
        } catch {
            reachable = false
        }
        checks.withLock { $0[index] = (clock.now, reachable) }
        return reachable
    }
}
