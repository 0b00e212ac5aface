import Dispatch
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import FrameStreamHTTP

/// In which order viewers were visited.
private final class VisitLog: Sendable {
    let order = Mutex<[ObjectIdentifier]>([])
}

/// A fast-path viewer that records what it is offered.
private final class RecordingViewer: FastPathViewer, Sendable {
    let offers = Mutex<[(sequence: UInt64, isHeartbeat: Bool)]>([])
    let visits: VisitLog
    /// Leaves the feed when it is offered a part (as a viewer whose write fails does).
    let leavesFeed: LoopFeed<RecordingViewer>?

    init(visits: VisitLog = VisitLog(), leaving feed: LoopFeed<RecordingViewer>? = nil) {
        self.visits = visits
        self.leavesFeed = feed
    }

    func offer(_ part: MJPEGPart, sequence: UInt64, isHeartbeat: Bool) {
        offers.withLock { $0.append((sequence, isHeartbeat)) }
        visits.order.withLock { $0.append(ObjectIdentifier(self)) }
        leavesFeed?.viewers.value.remove(self)
    }

    func endStream() {}

    var offeredSequences: [UInt64] { offers.withLock { $0.map(\.sequence) } }
}

private func delivery(_ sequence: UInt64, heartbeat: Bool = false) -> LoopFeed<RecordingViewer>.Delivery {
    let part = MJPEGPart(body: ByteBuffer(string: "part \(sequence)"), chunk: ByteBuffer(string: "chunk \(sequence)"))
    return .init(part: part, sequence: sequence, isHeartbeat: heartbeat)
}

/// How one camera's frames reach the viewers of one event loop.
@Suite struct LoopFeedTests {
    /// Runs `body` with a feed on a loop of its own, and `hold`, which keeps the loop busy while its closure runs
    /// (as a loop short of CPU is).
    private func withFeed(
        _ body: (LoopFeed<RecordingViewer>, any EventLoop, (() -> Void) async throws -> Void) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        // Made on its loop, as the hub makes it when the loop's first viewer comes.
        let feed = try await loop.submit { LoopFeed<RecordingViewer>(loop: loop) }.get()
        let hold: (() -> Void) async throws -> Void = { whileHeld in
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            loop.execute {
                entered.signal()
                release.wait()
            }
            entered.wait()
            whileHeld()
            release.signal()
            // Everything that was scheduled meanwhile has run once this has.
            try await loop.submit {}.get()
        }
        try await body(feed, loop, hold)
        try await group.shutdownGracefully()
    }

    @Test func aLoopThatFellBehindOffersOnlyTheNewestPart() async throws {
        try await withFeed { feed, loop, hold in
            let viewer = RecordingViewer()
            try await loop.submit { feed.viewers.value.add(viewer) }.get()
            try await hold {
                feed.deliver(delivery(1))
                feed.deliver(delivery(2))
                feed.deliver(delivery(3))
            }
            #expect(viewer.offeredSequences == [3])
            // A loop that keeps up gets each.
            feed.deliver(delivery(4))
            try await loop.submit {}.get()
            feed.deliver(delivery(5))
            try await loop.submit {}.get()
            #expect(viewer.offeredSequences == [3, 4, 5])
        }
    }

    @Test func aHeartbeatDoesNotReplaceAFrameNotYetOffered() async throws {
        try await withFeed { feed, loop, hold in
            let viewer = RecordingViewer()
            try await loop.submit { feed.viewers.value.add(viewer) }.get()
            try await hold {
                feed.deliver(delivery(7))
                feed.deliver(delivery(7, heartbeat: true))
            }
            try await hold {
                feed.deliver(delivery(7, heartbeat: true))
            }
            let offers = viewer.offers.withLock { $0 }
            #expect(offers.map(\.sequence) == [7, 7])
            #expect(offers.map(\.isHeartbeat) == [false, true])
        }
    }

    @Test func eachFrameVisitsEveryViewerFromAnotherStart() async throws {
        try await withFeed { feed, loop, _ in
            let visits = VisitLog()
            let viewers = (0..<10).map { _ in RecordingViewer(visits: visits) }
            try await loop.submit { for viewer in viewers { feed.viewers.value.add(viewer) } }.get()
            var firsts: [ObjectIdentifier] = []
            for sequence in UInt64(1)...5 {
                visits.order.withLock { $0.removeAll() }
                feed.deliver(delivery(sequence))
                try await loop.submit {}.get()
                let order = visits.order.withLock { $0 }
                #expect(Set(order) == Set(viewers.map(ObjectIdentifier.init)), "frame \(sequence) missed viewers")
                #expect(order.count == 10)
                firsts.append(order[0])
            }
            #expect(Set(firsts).count == 5, "the same viewers came first: \(firsts)")
        }
    }

    @Test func aViewerThatLeavesWhileVisitedDoesNotDisturbTheOthers() async throws {
        try await withFeed { feed, loop, _ in
            let visits = VisitLog()
            let stayers = (0..<4).map { _ in RecordingViewer(visits: visits) }
            let leavers = (0..<3).map { _ in RecordingViewer(visits: visits, leaving: feed) }
            try await loop.submit { for viewer in stayers + leavers { feed.viewers.value.add(viewer) } }.get()
            feed.deliver(delivery(1))
            try await loop.submit {}.get()
            feed.deliver(delivery(2))
            try await loop.submit {}.get()
            for viewer in stayers { #expect(viewer.offeredSequences == [1, 2]) }
            for viewer in leavers { #expect(viewer.offeredSequences == [1]) }
            #expect(try await loop.submit { feed.viewers.value.viewers.count }.get() == 4)
        }
    }
}
