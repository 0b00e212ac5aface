import FrameStreamTesting
import Testing

@testable import FrameStream

/// Many tasks subscribing, waiting, cancelling and ending while frames are published, then a shutdown: every wait
/// is resumed exactly once (a lost resume hangs, a double one crashes), no subscriber sees a frame twice or out of
/// order, and every subscriber ends when the broadcaster shuts down. `make tsan` runs it under ThreadSanitizer.
@Suite(.timeLimit(.minutes(2)))
struct FrameBroadcasterStressTests {
    /// How a subscriber task leaves.
    enum Exit: CaseIterable {
        /// Reads a few frames and drops its subscription.
        case leaves
        /// Its task is cancelled while it waits.
        case isCancelled
        /// Its subscription is ended from outside (``FrameSubscription/end()``).
        case isEnded
        /// Waits with heartbeats, and stays until the shutdown.
        case staysWithHeartbeats
        /// Stays until the shutdown.
        case stays
    }

    @Test func manySubscribersComeAndGoWhileFramesArePublished() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        let broadcaster = FrameBroadcaster(
            source: camera,
            driverName: "manual",
            configuration: .init(idleTimeout: nil, heartbeatInterval: .seconds(1)),
            clock: clock,
            logger: quietLogger
        )
        let running = Task { try await broadcaster.run() }
        let keepAlive = broadcaster.subscribe()
        await camera.waitForStarts(1)
        let publishing = Shared(true)
        let publisher = Task {
            var marker: UInt8 = 0
            while publishing.current {
                marker &+= 1
                camera.send(testImage(marker))
                if marker % 16 == 0 { clock.advance(by: .milliseconds(500)) }  // heartbeats now and then
                await Task.yield()
            }
        }

        let subscriberCount = 200
        let ended = Shared(0)
        let stayers = await withTaskGroup(of: Int.self) { outer in
            for index in 0..<subscriberCount {
                let exit = Exit.allCases[index % Exit.allCases.count]
                outer.addTask {
                    defer { ended.update { $0 += 1 } }
                    let subscription = broadcaster.subscribe()
                    switch exit {
                    case .leaves:
                        Self.expectIncreasing(await Self.read(subscription, frames: 1 + index % 5))
                        return 0
                    case .isCancelled:
                        let reader = Task { await Self.read(subscription, frames: .max) }
                        for _ in 0..<(index % 7) { await Task.yield() }
                        reader.cancel()
                        Self.expectIncreasing(await reader.value)
                        return 0
                    case .isEnded:
                        let reader = Task { await Self.read(subscription, frames: .max) }
                        for _ in 0..<(index % 7) { await Task.yield() }
                        subscription.end()
                        Self.expectIncreasing(await reader.value)
                        return 0
                    case .staysWithHeartbeats:
                        var iterator = subscription.makeAsyncIterator()
                        var seen: [UInt64] = []
                        while let event = await iterator.nextEvent() {
                            if case .frame(let frame) = event { seen.append(frame.sequence) }
                        }
                        Self.expectIncreasing(seen)
                        return 1
                    case .stays:
                        Self.expectIncreasing(await Self.read(subscription, frames: .max))
                        return 1
                    }
                }
            }
            // Once everyone who leaves by themselves has gone, shut down: the rest must end by themselves.
            let leaving = subscriberCount * 3 / Exit.allCases.count
            await eventually { ended.current >= leaving }
            publishing.update { $0 = false }
            await publisher.value
            running.cancel()
            var stayers = 0
            for await stayed in outer { stayers += stayed }
            return stayers
        }
        #expect(stayers == subscriberCount * 2 / Exit.allCases.count)
        #expect(ended.current == subscriberCount)
        try await running.value
        #expect(broadcaster.waitingSubscribers == 0)
        withExtendedLifetime(keepAlive) {}
        await camera.waitForStops(1)
    }

    /// Up to `frames` frames' sequence numbers, fewer if the subscription ends first.
    static func read(_ subscription: FrameSubscription, frames: Int) async -> [UInt64] {
        var sequences: [UInt64] = []
        for await frame in subscription {
            sequences.append(frame.sequence)
            if sequences.count == frames { break }
        }
        return sequences
    }

    static func expectIncreasing(_ sequences: [UInt64], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, sourceLocation: sourceLocation)
    }
}
