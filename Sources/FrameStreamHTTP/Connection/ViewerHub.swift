import FrameStream
import Logging
import NIOCore
import Synchronization

/// Feeds every fast-path viewer of one camera (``StreamConnectionHandler``) from one subscription: each frame's
/// part is built once, and handed to each event loop once (``LoopFeed``), which offers it to that loop's viewers.
/// There is no task per viewer.
///
/// It subscribes to the broadcaster only while it has viewers, so the camera's idle timeout works as usual. It
/// takes viewers only while its ``run()`` runs; before that (the endpoints were not added to a service group) the
/// routes serve streams through the response body instead, and a warning is logged once.
final class ViewerHub: Sendable {
    /// What a new viewer gets at once: the newest frame's part, if it is fresh.
    struct Registration {
        var part: MJPEGPart?
        var sequence: UInt64
        /// The part is a placeholder, no frame.
        var isPlaceholder = false
    }

    private enum Lifecycle {
        case notStarted
        case running
        case shutDown
    }

    private struct State {
        var lifecycle = Lifecycle.notStarted
        var feeds: [ObjectIdentifier: LoopFeed<StreamConnectionHandler>] = [:]
        var viewerCount = 0
        var subscription: FrameSubscription?
        /// The newest part, re-sent as a heartbeat while the camera sends nothing new.
        var lastPart: (part: MJPEGPart, sequence: UInt64)?
        /// The placeholder's part while the camera has no picture, for new viewers too.
        var placeholderPart: MJPEGPart?
        var waiter: CheckedContinuation<Void, Never>?
        var warnedNotRunning = false
    }

    let broadcaster: FrameBroadcaster
    let parts: MJPEGPartCache
    /// How old a frame may be to be shown to a new viewer at once.
    let firstFrameMaxAge: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(broadcaster: FrameBroadcaster, parts: MJPEGPartCache, firstFrameMaxAge: Duration, logger: Logger) {
        self.broadcaster = broadcaster
        self.parts = parts
        self.firstFrameMaxAge = firstFrameMaxAge
        self.logger = logger
    }

    /// Whether ``run()`` runs and takes viewers.
    var isRunning: Bool { state.withLock { $0.lifecycle == .running } }

    /// Adds a viewer; called on its channel's event loop. Returns what to send it at once, or `nil` when the hub
    /// does not run (not started, or shut down): the viewer is then served through the response body.
    func register(_ viewer: StreamConnectionHandler, on loop: any EventLoop) -> Registration? {
        let key = ObjectIdentifier(loop)
        let outcome = state.withLock {
            state -> (LoopFeed<StreamConnectionHandler>, CheckedContinuation<Void, Never>?)? in
            guard state.lifecycle == .running else { return nil }
            let feed = state.feeds[key] ?? LoopFeed(loop: loop)
            state.feeds[key] = feed
            state.viewerCount += 1
            let waiter = state.viewerCount == 1 ? state.waiter : nil
            if waiter != nil { state.waiter = nil }
            return (feed, waiter)
        }
        guard let (feed, waiter) = outcome else {
            warnIfNeverStarted()
            return nil
        }
        feed.viewers.value.add(viewer)
        waiter?.resume()
        // Never a picture from before a failure, or older than a snapshot may be; the placeholder instead, if any.
        guard let frame = broadcaster.newestFrame(maxAge: firstFrameMaxAge) else {
            return Registration(part: state.withLock { $0.placeholderPart }, sequence: 0, isPlaceholder: true)
        }
        return Registration(part: parts.part(for: frame), sequence: frame.sequence)
    }

    /// Removes a viewer; called on its channel's event loop.
    func unregister(_ viewer: StreamConnectionHandler, on loop: any EventLoop) {
        let key = ObjectIdentifier(loop)
        let (feed, ending) = state.withLock { state in
            state.viewerCount -= 1
            let ending = state.viewerCount == 0 ? state.subscription : nil
            return (state.feeds[key], ending)
        }
        feed?.viewers.value.remove(viewer)
        // Nobody left: let go of the camera, so that its idle timer starts.
        ending?.end()
    }

    /// Subscribes while there are viewers and hands each frame to them, until cancelled, shut down, or the
    /// broadcaster has shut down; then ends every stream cleanly.
    /// - Throws: ``MJPEGEndpointsError/alreadyRunning`` if called a second time.
    func run() async throws {
        try state.withLock { state in
            guard state.lifecycle == .notStarted else { throw MJPEGEndpointsError.alreadyRunning }
            state.lifecycle = .running
        }
        await withTaskCancellationHandler {
            while await waitForViewers() {
                let subscription = broadcaster.subscribe()
                let stillWanted = state.withLock { state in
                    state.subscription = subscription
                    return state.viewerCount > 0 && state.lifecycle == .running
                }
                if stillWanted {
                    await deliverFrames(of: subscription)
                }
                state.withLock { state in
                    state.subscription = nil
                    state.lastPart = nil
                    state.placeholderPart = nil
                }
                // The camera service has stopped for good: subscribing again would end at once, again and again.
                if broadcaster.isShutDown { break }
            }
            shutDown()
            finishAll()
        } onCancel: {
            shutDown()
        }
    }

    /// Ends every stream cleanly and stops taking viewers.
    func shutDown() {
        let (subscription, waiter) = state.withLock { state in
            state.lifecycle = .shutDown
            defer { state.waiter = nil }
            return (state.subscription, state.waiter)
        }
        subscription?.end()
        waiter?.resume()
    }

    private func warnIfNeverStarted() {
        let warn = state.withLock { state in
            guard state.lifecycle == .notStarted, !state.warnedNotRunning else { return false }
            state.warnedNotRunning = true
            return true
        }
        if warn {
            logger.warning(
                "the camera's endpoints are not running as a service: streams go through the response body, a task per viewer; add the endpoints to the application's services (app.addServices(broadcaster, endpoints))"
            )
        }
    }

    private func deliverFrames(of subscription: FrameSubscription) async {
        var events = subscription.makeAsyncIterator()
        while let event = await events.nextEvent() {
            let delivery: LoopFeed<StreamConnectionHandler>.Delivery
            switch event {
            case .frame(let frame):
                delivery = .init(part: parts.part(for: frame), sequence: frame.sequence, isHeartbeat: false)
                state.withLock { state in
                    state.lastPart = (delivery.part, delivery.sequence)
                    state.placeholderPart = nil
                }
            case .noNewFrame:
                guard let last = state.withLock({ $0.lastPart }) else { continue }
                delivery = .init(part: last.part, sequence: last.sequence, isHeartbeat: true)
            case .placeholder(let placeholder):
                // Sent like a heartbeat: it replaces no frame, and the next frame is sent after it.
                let part = parts.encoder.framedPart(for: placeholder)
                let sequence = state.withLock { state in
                    state.placeholderPart = part
                    return state.lastPart?.sequence ?? 0
                }
                delivery = .init(part: part, sequence: sequence, isHeartbeat: true)
            }
            for feed in state.withLock({ Array($0.feeds.values) }) {
                feed.deliver(delivery)
            }
        }
    }

    private func finishAll() {
        for feed in state.withLock({ Array($0.feeds.values) }) {
            feed.loop.execute {
                for viewer in feed.viewers.value.viewers { viewer.endStream() }
            }
        }
    }

    /// Waits until there is a viewer; `false` once the hub has shut down.
    private func waitForViewers() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.viewerCount > 0 || state.lifecycle == .shutDown { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { $0.lifecycle == .running }
    }
}
