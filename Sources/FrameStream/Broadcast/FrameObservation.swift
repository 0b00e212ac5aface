import Synchronization

/// A registration made by ``FrameBroadcaster/observeFrames(_:)``: while it lives, its closure sees every frame the
/// broadcaster publishes. Dropping it (or calling ``cancel()``) ends the observation.
///
/// Unlike a ``FrameSubscription``, an observation skips nothing and does not keep the camera running: it is for
/// code that must see each frame, such as a recorder, and that holds a subscription of its own to keep the camera
/// on.
public final class FrameObservation: Sendable {
    private let broadcaster: FrameBroadcaster
    private let id: UInt64

    init(broadcaster: FrameBroadcaster, id: UInt64) {
        self.broadcaster = broadcaster
        self.id = id
    }

    /// Ends the observation now: the closure is not called for later frames.
    public func cancel() {
        broadcaster.state.withLock { _ = $0.frameObservers.removeValue(forKey: id) }
    }

    deinit {
        cancel()
    }
}

extension FrameBroadcaster {
    /// Calls `observer` with every frame the broadcaster publishes from now on, in order, for as long as the
    /// returned observation lives.
    ///
    /// The closure runs in the camera's task, before viewers are woken, so it must return at once: hand the frame
    /// to a queue or a thread of your own. It does not keep the camera running; hold a ``subscribe()`` for that.
    ///
    /// ```swift
    /// let observation = broadcaster.observeFrames { frame in queue.append(frame) }
    /// let keepRunning = broadcaster.subscribe()
    /// ```
    public func observeFrames(_ observer: @escaping @Sendable (Frame) -> Void) -> FrameObservation {
        let id = state.withLock { state in
            state.nextObserverID += 1
            state.frameObservers[state.nextObserverID] = observer
            return state.nextObserverID
        }
        return FrameObservation(broadcaster: self, id: id)
    }
}
