import Synchronization

extension FrameBroadcaster {
    /// A current frame, for a still image: the newest frame if the camera is streaming and the frame is at most
    /// `maxAge` old, otherwise the next frame the camera makes.
    ///
    /// Taking a snapshot counts as watching: it starts a stopped camera, which then stops again after the idle
    /// timeout.
    /// - Parameters:
    ///   - maxAge: how old the newest frame may be to be returned at once.
    ///   - timeout: how long to wait for a fresh frame.
    /// - Throws: ``FrameBroadcasterError/noFrameWithin(_:driver:lastError:)`` when no frame came in time, or
    ///   ``FrameBroadcasterError/shutDown``.
    public func snapshot(maxAge: Duration = .seconds(1), timeout: Duration = .seconds(5)) async throws -> Frame {
        let subscription = subscribe()
        if let current = newestFrame(maxAge: maxAge) {
            return current
        }
        // The next frame after the newest one, which is too old or from before a failure.
        let after = state.withLock { $0.latest?.sequence } ?? subscription.startingAfter
        let outcome = await withTaskGroup(of: SnapshotOutcome.self) { group in
            group.addTask {
                var iterator = FrameSubscription.Iterator(lease: subscription.lease, lastSequence: after)
                return await iterator.next().map(SnapshotOutcome.frame) ?? .ended
            }
            group.addTask {
                do {
                    try await self.clock.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .ended
                }
            }
            let first = await group.next() ?? .ended
            group.cancelAll()
            return first
        }
        switch outcome {
        case .frame(let frame):
            return frame
        case .timedOut:
            throw FrameBroadcasterError.noFrameWithin(timeout, driver: driverName, lastError: status.lastError)
        case .ended:
            try Task.checkCancellation()
            throw FrameBroadcasterError.shutDown
        }
    }
}

extension FrameBroadcaster {
    /// The newest frame if the camera is streaming and the frame is at most `maxAge` old; `nil` while the camera
    /// is stopped, starting or retrying, so that a new viewer is never shown a picture from before a failure.
    public func newestFrame(maxAge: Duration) -> Frame? {
        let now = clock.now()
        return state.withLock { state in
            guard state.phase == .streaming, let latest = state.latest, now - latest.publishedAt <= maxAge else {
                return nil
            }
            return latest
        }
    }

    /// Whether the broadcaster has stopped for good (its ``run()`` has returned): subscriptions end at once.
    public var isShutDown: Bool {
        state.withLock { $0.lifecycle == .shutDown }
    }
}

private enum SnapshotOutcome: Sendable {
    case frame(Frame)
    case timedOut
    case ended
}
