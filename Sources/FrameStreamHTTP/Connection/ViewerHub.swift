import FrameStream
import NIOCore
import Synchronization

/// Feeds every viewer on the fast path (``StreamRequestHandler``) from one subscription: each frame's part is built
/// once, and handed to each event loop once, which offers it to that loop's viewers. There is no task per viewer.
///
/// It subscribes to the broadcaster only while it has viewers, so the camera's idle timeout works as usual.
final class ViewerHub: Sendable {
    /// The viewers on one event loop; used only on that loop.
    final class LoopViewers {
        var viewers: [ObjectIdentifier: StreamRequestHandler] = [:]
    }

    private struct State {
        var buckets: [ObjectIdentifier: (loop: any EventLoop, viewers: NIOLoopBound<LoopViewers>)] = [:]
        var viewerCount = 0
        var subscription: FrameSubscription?
        /// The newest part and its frame's sequence number, while subscribed: a new viewer gets it at once.
        var lastPart: (part: ByteBuffer, sequence: UInt64)?
        var waiter: CheckedContinuation<Void, Never>?
        var isShutDown = false
    }

    let broadcaster: FrameBroadcaster
    let parts: MJPEGPartCache
    private let state = Mutex(State())

    init(broadcaster: FrameBroadcaster, parts: MJPEGPartCache) {
        self.broadcaster = broadcaster
        self.parts = parts
    }

    /// Adds a viewer; called on its channel's event loop. Returns the part to send it at once, if any, or `nil`
    /// and `false` when the hub has shut down.
    func register(
        _ viewer: StreamRequestHandler,
        on loop: any EventLoop
    ) -> (accepted: Bool, first: (part: ByteBuffer, sequence: UInt64)?) {
        let key = ObjectIdentifier(loop)
        let (bucket, waiter, first, accepted) = state.withLock { state in
            guard !state.isShutDown else {
                return (
                    nil as NIOLoopBound<LoopViewers>?, nil as CheckedContinuation<Void, Never>?,
                    nil as (part: ByteBuffer, sequence: UInt64)?, false
                )
            }
            if state.buckets[key] == nil {
                state.buckets[key] = (loop, NIOLoopBound(LoopViewers(), eventLoop: loop))
            }
            state.viewerCount += 1
            let waiter = state.viewerCount == 1 ? state.waiter : nil
            if waiter != nil { state.waiter = nil }
            return (state.buckets[key]!.viewers, waiter, state.lastPart, true)
        }
        bucket?.value.viewers[ObjectIdentifier(viewer)] = viewer
        waiter?.resume()
        return (accepted, first)
    }

    /// Removes a viewer; called on its channel's event loop.
    func unregister(_ viewer: StreamRequestHandler, on loop: any EventLoop) {
        let key = ObjectIdentifier(loop)
        let (bucket, ending) = state.withLock { state in
            state.viewerCount -= 1
            let ending = state.viewerCount == 0 ? state.subscription : nil
            return (state.buckets[key]?.viewers, ending)
        }
        bucket?.value.viewers[ObjectIdentifier(viewer)] = nil
        // Nobody left: let go of the camera, so that its idle timer starts.
        ending?.end()
    }

    /// Subscribes while there are viewers and hands each frame to them, until cancelled or shut down.
    func run() async {
        await withTaskCancellationHandler {
            while await waitForViewers() {
                let subscription = broadcaster.subscribe()
                let stillWanted = state.withLock { state in
                    state.subscription = subscription
                    return state.viewerCount > 0 && !state.isShutDown
                }
                if stillWanted {
                    await deliverFrames(of: subscription)
                }
                state.withLock { state in
                    state.subscription = nil
                    state.lastPart = nil
                }
            }
            finishAll()
        } onCancel: {
            shutDown()
        }
    }

    /// Ends every stream cleanly and stops taking viewers.
    func shutDown() {
        let (subscription, waiter) = state.withLock { state in
            state.isShutDown = true
            defer { state.waiter = nil }
            return (state.subscription, state.waiter)
        }
        subscription?.end()
        waiter?.resume()
    }

    private func deliverFrames(of subscription: FrameSubscription) async {
        var events = subscription.makeAsyncIterator()
        while let event = await events.nextEvent() {
            let part: ByteBuffer
            let sequence: UInt64
            let isHeartbeat: Bool
            switch event {
            case .frame(let frame):
                (part, sequence, isHeartbeat) = (parts.part(for: frame), frame.sequence, false)
                state.withLock { $0.lastPart = (part, sequence) }
            case .noNewFrame:
                guard let last = state.withLock({ $0.lastPart }) else { continue }
                (part, sequence, isHeartbeat) = (last.part, last.sequence, true)
            }
            for (loop, viewers) in state.withLock({ Array($0.buckets.values) }) {
                loop.execute {
                    for viewer in viewers.value.viewers.values {
                        viewer.offer(part, sequence: sequence, isHeartbeat: isHeartbeat)
                    }
                }
            }
        }
    }

    private func finishAll() {
        for (loop, viewers) in state.withLock({ Array($0.buckets.values) }) {
            loop.execute {
                for viewer in Array(viewers.value.viewers.values) { viewer.finishStream() }
            }
        }
    }

    /// Waits until there is a viewer; `false` once the hub has shut down.
    private func waitForViewers() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.viewerCount > 0 || state.isShutDown { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { !$0.isShutDown }
    }
}
