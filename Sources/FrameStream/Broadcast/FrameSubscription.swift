import Synchronization

/// One viewer's frames from a ``FrameBroadcaster``: only frames it has not seen, newest first.
///
/// Iterating waits for the next frame; a frame it receives is always newer than the one before, so there are no
/// duplicates, and if the viewer was busy while the camera made several frames, it gets only the newest of them.
/// Nothing is queued per subscription. The sequence ends when its task is cancelled or the broadcaster shuts down.
///
/// The subscription keeps the camera running until it and all its iterators are gone.
public struct FrameSubscription: AsyncSequence, Sendable {
    /// A frame.
    public typealias Element = Frame
    /// Iteration does not fail: it ends.
    public typealias Failure = Never

    let lease: SubscriptionLease
    /// Frames up to this sequence number count as seen.
    let startingAfter: UInt64

    init(lease: SubscriptionLease, startingAfter: UInt64) {
        self.lease = lease
        self.startingAfter = startingAfter
    }

    /// Ends the subscription now: iterators waiting for a frame return `nil` at once, and so does every later
    /// call. For a stream that must end on a signal, such as a graceful shutdown, from outside its task.
    public func end() {
        lease.isEnded.store(true, ordering: .sequentiallyConsistent)
        lease.broadcaster.endWaits(of: lease.id)
    }

    /// Makes an iterator whose first frame is the subscription's first frame.
    public func makeAsyncIterator() -> Iterator {
        Iterator(lease: lease, lastSequence: startingAfter)
    }

    /// Yields frames newer than the last one it yielded.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        /// A frame.
        public typealias Element = Frame
        /// Iteration does not fail: it ends.
        public typealias Failure = Never

        let lease: SubscriptionLease
        /// The sequence number of the last frame this iterator yielded (or of the last frame before it began).
        public private(set) var lastSequence: UInt64
        /// The number of the last placeholder it yielded.
        private var lastPlaceholder: UInt64 = 0

        init(lease: SubscriptionLease, lastSequence: UInt64) {
            self.lease = lease
            self.lastSequence = lastSequence
        }

        /// The next frame newer than ``lastSequence``, as soon as there is one; `nil` when the task is cancelled or
        /// the broadcaster shuts down.
        public mutating func next() async -> Frame? {
            while let event = await lease.broadcaster.nextEvent(after: lastSequence, heartbeats: false, lease: lease) {
                if case .frame(let frame) = event {
                    lastSequence = frame.sequence
                    return frame
                }
            }
            return nil
        }

        /// The next frame newer than ``lastSequence``, or ``Event/noNewFrame`` when the camera has delivered nothing
        /// for the broadcaster's heartbeat interval, or ``Event/placeholder(_:)`` while the camera has no picture;
        /// `nil` when the task is cancelled or the broadcaster shuts down.
        public mutating func nextEvent() async -> Event? {
            let event = await lease.broadcaster.nextEvent(
                after: lastSequence,
                heartbeats: true,
                placeholder: lastPlaceholder,
                lease: lease
            )
            switch event {
            case .frame(let frame): lastSequence = frame.sequence
            case .placeholder(let placeholder): lastPlaceholder = placeholder.number
            case .noNewFrame, nil: break
            }
            return event
        }
    }

    /// What a subscriber waiting with ``Iterator/nextEvent()`` is woken by.
    public enum Event: Sendable {
        /// A frame newer than the last one.
        case frame(Frame)
        /// The camera delivered nothing new for a heartbeat interval.
        case noNewFrame
        /// The camera has no picture (starting, retrying, no signal): a picture that says so, about once a second,
        /// until frames return (see ``FrameBroadcaster/Configuration/placeholders``).
        case placeholder(PlaceholderFrame)
    }
}

/// Counts as one subscriber of a broadcaster for as long as it lives.
final class SubscriptionLease: Sendable {
    let broadcaster: FrameBroadcaster
    let id: UInt64
    /// Set by ``FrameSubscription/end()``; read under the broadcaster's lock before a wait is registered.
    let isEnded = Atomic(false)

    init(broadcaster: FrameBroadcaster, id: UInt64) {
        self.broadcaster = broadcaster
        self.id = id
    }

    deinit {
        broadcaster.unsubscribe()
    }
}
