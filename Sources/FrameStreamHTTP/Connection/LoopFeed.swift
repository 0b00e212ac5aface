import NIOCore
import Synchronization

/// One camera's feed to one event loop: the loop's fast-path viewers, and the newest part not yet offered to them.
///
/// ``ViewerHub`` hands each part to each loop through this; a part that arrives while the loop has not yet taken
/// the previous one replaces it. So a loop that falls behind (the machine is short of CPU) offers its viewers the
/// newest frame when it gets to them, instead of working through a queue of older ones: latency stays bounded,
/// and every viewer of the loop skips the same frames.
final class LoopFeed<Viewer: FastPathViewer>: Sendable {
    /// What the loop's viewers are offered next.
    struct Delivery: Sendable {
        var part: MJPEGPart
        var sequence: UInt64
        /// The last frame again, because the camera sent nothing new.
        var isHeartbeat: Bool
    }

    let loop: any EventLoop
    /// The viewers; used only on the loop.
    let viewers: NIOLoopBound<LoopViewers<Viewer>>
    private let next = Mutex<Delivery?>(nil)

    /// Makes the feed of a loop; called on that loop.
    init(loop: any EventLoop) {
        self.loop = loop
        self.viewers = NIOLoopBound(LoopViewers(), eventLoop: loop)
    }

    /// Offers a part to the loop's viewers soon, on the loop; replaces one not yet offered (an undelivered frame
    /// stays when a heartbeat of it or of an older one comes).
    func deliver(_ delivery: Delivery) {
        let mustSchedule = next.withLock { next -> Bool in
            guard let waiting = next else {
                next = delivery
                return true
            }
            if delivery.isHeartbeat, !waiting.isHeartbeat, waiting.sequence >= delivery.sequence { return false }
            next = delivery
            return false
        }
        if mustSchedule {
            loop.execute { self.offerWaiting() }
        }
    }

    private func offerWaiting() {
        guard let delivery = next.withLock({ $0.take() }) else { return }
        viewers.value.offer(delivery.part, sequence: delivery.sequence, isHeartbeat: delivery.isHeartbeat)
    }
}
