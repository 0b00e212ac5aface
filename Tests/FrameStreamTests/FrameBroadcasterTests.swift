import FrameStreamTesting
import Testing

@testable import FrameStream

@Suite(.timeLimit(.minutes(1)))
struct FrameBroadcasterTests {
    @Test func firstSubscriberStartsTheCameraAndGetsItsFirstFrame() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            #expect(camera.starts == 0)
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(testImage(7))
            let frame = try #require(await frames.next())
            #expect(frame.sequence == 1)
            #expect(frame.jpeg == testImage(7).bytes)
            #expect(broadcaster.status.phase == .streaming)
            #expect(broadcaster.status.subscribers == 1)
        }
    }

    @Test func everySubscriberGetsEachFrameOnceAndNoDuplicates() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            var first = broadcaster.subscribe().makeAsyncIterator()
            var second = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            for marker in UInt8(1)...20 {
                camera.send(testImage(marker))
                let a = try #require(await first.next())
                let b = try #require(await second.next())
                #expect(a.sequence == UInt64(marker))
                #expect(b.sequence == UInt64(marker))
                #expect(a.jpeg[2] == marker)
            }
            // No new frame: a subscriber that asks again must wait, not get the last frame twice. The frame is sent
            // only once the subscriber waits (or has wrongly returned at once).
            let returned = Shared<UInt64?>(nil)
            let waiting = Task { [second] in
                var second = second
                let sequence = await second.next()?.sequence
                returned.update { $0 = sequence }
                return sequence
            }
            await eventually { broadcaster.waitingSubscribers == 1 || returned.current != nil }
            #expect(returned.current == nil, "the last frame again, instead of waiting for a new one")
            camera.send(testImage(21))
            #expect(await waiting.value == 21)
        }
    }

    @Test func slowSubscriberSkipsToTheNewestFrame() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            var fast = broadcaster.subscribe().makeAsyncIterator()
            var slow = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(testImage(1))
            #expect(await fast.next()?.sequence == 1)
            #expect(await slow.next()?.sequence == 1)
            // The slow subscriber is busy while the camera makes frames 2 to 6.
            for marker in UInt8(2)...6 {
                camera.send(testImage(marker))
                #expect(await fast.next()?.sequence == UInt64(marker))
            }
            let caughtUp = try #require(await slow.next())
            #expect(caughtUp.sequence == 6)
            #expect(caughtUp.jpeg[2] == 6)
            camera.send(testImage(7))
            #expect(await slow.next()?.sequence == 7)
        }
    }

    @Test func cameraStopsAfterTheIdleTimeoutAndRestartsForANewSubscriber() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, idleTimeout: .seconds(10)) { broadcaster in
            do {
                var frames = broadcaster.subscribe().makeAsyncIterator()
                await camera.waitForStarts(1)
                camera.send(testImage(1))
                #expect(await frames.next()?.sequence == 1)
            }
            // The subscription is gone: the idle timer sleeps 10 s on the test clock.
            await clock.waitForSleepers(1)
            #expect(broadcaster.status.subscribers == 0)
            clock.advance(by: .seconds(9))
            // Still asleep after 9 s (reading the camera's state now could not show it: the stop is asynchronous).
            #expect(clock.sleeperDeadlines == [.init(offset: .seconds(10))])
            #expect(camera.isRunning)
            clock.advance(by: .seconds(1))
            #expect(clock.sleeperDeadlines.isEmpty)
            await camera.waitForStops(1)
            #expect(camera.starts == 1)

            // A new subscriber starts the camera again and gets a fresh frame, not the old one.
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(2)
            camera.send(testImage(2))
            let frame = try #require(await frames.next())
            #expect(frame.sequence == 2)
            #expect(frame.jpeg[2] == 2)
        }
    }

    @Test func subscriberArrivingDuringTheIdleTimeoutKeepsTheCameraRunning() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, idleTimeout: .seconds(10)) { broadcaster in
            do {
                let subscription = broadcaster.subscribe()
                await camera.waitForStarts(1)
                withExtendedLifetime(subscription) {}
            }
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(5))
            var frames = broadcaster.subscribe().makeAsyncIterator()
            clock.advance(by: .seconds(5))
            // The idle timer woke, found a subscriber and waits for the count to reach zero again.
            camera.send(testImage(1))
            #expect(await frames.next()?.sequence == 1)
            #expect(camera.stops == 0)
            #expect(clock.sleeperCount == 0)
        }
    }

    @Test func zeroIdleTimeoutStopsTheCameraAtOnce() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock(), idleTimeout: .zero) { broadcaster in
            do {
                let subscription = broadcaster.subscribe()
                await camera.waitForStarts(1)
                withExtendedLifetime(subscription) {}
            }
            await camera.waitForStops(1)
            #expect(broadcaster.status.subscribers == 0)
        }
    }

    @Test func noIdleTimeoutKeepsTheCameraRunningWithoutSubscribers() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, idleTimeout: nil) { broadcaster in
            do {
                let subscription = broadcaster.subscribe()
                await camera.waitForStarts(1)
                withExtendedLifetime(subscription) {}
            }
            clock.advance(by: .seconds(3600))
            camera.send(testImage(1))
            // Frames keep flowing with nobody watching: a later subscriber gets the newest at once.
            var frames = broadcaster.subscribe().makeAsyncIterator()
            #expect(await frames.next()?.sequence == 1)
            #expect(camera.stops == 0)
            #expect(clock.sleeperCount == 0)
        }
        // When the broadcaster stops, the camera is released.
        await camera.waitForStops(1)
    }

    @Test func failingCameraIsRestartedWithBackoffWhileSubscribersStay() async throws {
        struct Unplugged: Error, CustomStringConvertible {
            var description: String { "camera unplugged" }
        }
        let camera = ManualCamera()
        let clock = ManualClock()
        let backoff = RestartBackoff(initial: .seconds(1), maximum: .seconds(4))
        try await withRunningBroadcaster(of: camera, clock: clock, backoff: backoff) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.send(testImage(1))
            #expect(await frames.next()?.sequence == 1)

            camera.fail(Unplugged())
            await clock.waitForSleepers(1)
            var status = broadcaster.status
            #expect(status.phase == .retrying)
            #expect(status.lastError == "camera unplugged")
            #expect(status.subscribers == 1)

            // Not restarted before the backoff has passed: the backoff still sleeps, due at 1 s.
            #expect(clock.sleeperDeadlines == [.init(offset: .seconds(1))])
            clock.advance(by: .milliseconds(999))
            #expect(clock.sleeperDeadlines == [.init(offset: .seconds(1))])
            clock.advance(by: .milliseconds(1))
            await camera.waitForStarts(2)

            // The second failure in a row waits twice as long; an end without error counts as a failure too.
            camera.finish()
            await clock.waitForSleepers(1)
            #expect(broadcaster.status.lastError == "camera 'manual' stopped sending frames")
            #expect(clock.sleeperDeadlines == [.init(offset: .seconds(3))])
            clock.advance(by: .seconds(1))
            #expect(clock.sleeperDeadlines == [.init(offset: .seconds(3))])
            clock.advance(by: .seconds(1))
            await camera.waitForStarts(3)

            camera.send(testImage(2))
            let resumed = try #require(await frames.next())
            #expect(resumed.sequence == 2)
            status = broadcaster.status
            #expect(status.phase == .streaming)
            #expect(status.restarts == 2)
            #expect(status.lastError == "camera 'manual' stopped sending frames")
        }
    }

    @Test func snapshotStartsTheCameraAndWaitsForAFreshFrame() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock) { broadcaster in
            async let snapshot = broadcaster.snapshot(maxAge: .seconds(1), timeout: .seconds(5))
            await camera.waitForStarts(1)
            camera.send(testImage(1))
            let first = try await snapshot
            #expect(first.sequence == 1)

            // Fresh enough: returned at once.
            let again = try await broadcaster.snapshot(maxAge: .seconds(1))
            #expect(again.sequence == 1)

            // Too old: the next frame is awaited.
            clock.advance(by: .seconds(2))
            async let later = broadcaster.snapshot(maxAge: .seconds(1), timeout: .seconds(5))
            await clock.waitForSleepers(2)  // the idle timer and the snapshot's timeout
            camera.send(testImage(2))
            let fresh = try await later
            #expect(fresh.sequence == 2)
        }
    }

    @Test func snapshotTimesOutWithTheCamerasLastError() async throws {
        struct Busy: Error, CustomStringConvertible {
            var description: String { "device is busy" }
        }
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, idleTimeout: .seconds(10)) { broadcaster in
            let snapshot = Task { try await broadcaster.snapshot(timeout: .seconds(5)) }
            await camera.waitForStarts(1)
            camera.fail(Busy())
            await clock.waitForSleepers(2)  // the snapshot's timeout and the restart backoff
            clock.advance(by: .seconds(5))
            let error = await #expect(throws: FrameBroadcasterError.self) { try await snapshot.value }
            #expect(error == .noFrameWithin(.seconds(5), driver: "manual", lastError: "device is busy"))
        }
    }

    @Test func shutdownEndsSubscriptionsAndReleasesTheCamera() async throws {
        let camera = ManualCamera()
        let broadcaster = FrameBroadcaster(
            source: camera,
            configuration: .init(placeholders: .off),
            clock: ManualClock(),
            logger: quietLogger
        )
        let running = Task { try await broadcaster.run() }
        let watcher = Task {
            var count = 0
            for await _ in broadcaster.subscribe() { count += 1 }
            return count
        }
        await camera.waitForStarts(1)
        camera.send(testImage(1))
        running.cancel()
        try await running.value
        #expect(await watcher.value <= 1)
        await camera.waitForStops(1)
        #expect(broadcaster.status.phase == .stopped)
        // After shutdown, a subscription ends at once.
        var late = broadcaster.subscribe().makeAsyncIterator()
        #expect(await late.next() == nil)
        await #expect(throws: FrameBroadcasterError.alreadyRunning) { try await broadcaster.run() }
    }

    @Test func cancellingAWaitingSubscriberEndsItsSequence() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            let subscription = broadcaster.subscribe()
            let waiting = Task {
                var frames = subscription.makeAsyncIterator()
                return await frames.next()
            }
            await camera.waitForStarts(1)
            // Cancel only once the iterator waits: the cancellation must find and resume its stored continuation.
            await eventually { broadcaster.waitingSubscribers == 1 }
            waiting.cancel()
            #expect(await waiting.value == nil)
            #expect(broadcaster.waitingSubscribers == 0)
        }
    }

    @Test func endingASubscriptionWakesItsWaitingIteratorAndNoOther() async throws {
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: ManualClock()) { broadcaster in
            let ending = broadcaster.subscribe()
            var other = broadcaster.subscribe().makeAsyncIterator()
            let waiting = Task {
                var frames = ending.makeAsyncIterator()
                return await frames.next()
            }
            await camera.waitForStarts(1)
            while broadcaster.waitingSubscribers == 0 { await Task.yield() }
            ending.end()
            #expect(await waiting.value == nil)
            var later = ending.makeAsyncIterator()
            camera.send(testImage(1))
            #expect(await other.next()?.sequence == 1)
            #expect(await later.next() == nil)
        }
    }

    @Test func statusCountsFramesAndMeasuresTheRate() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            for marker in UInt8(1)...5 {
                camera.send(testImage(marker))
                _ = await frames.next()
                clock.advance(by: .milliseconds(100))
            }
            let status = broadcaster.status
            #expect(status.framesProduced == 5)
            #expect(status.lastFrameSequence == 5)
            #expect(status.lastFrameTime != nil)
            #expect(abs(status.framesPerSecond - 10) < 0.01)
            #expect(status.isRunning)
        }
    }

    @Test func heartbeatWakesOnlyWhenTheCameraDeliversNothingForAnInterval() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        try await withRunningBroadcaster(of: camera, clock: clock, heartbeatInterval: .seconds(5)) { broadcaster in
            let subscription = broadcaster.subscribe()
            await camera.waitForStarts(1)
            await clock.waitForSleepers(1)  // the heartbeat ticker
            camera.send(testImage(1))

            func nextEvent(after sequence: UInt64) async -> Task<String, Never> {
                let waiting = Task {
                    var events = FrameSubscription.Iterator(lease: subscription.lease, lastSequence: sequence)
                    switch await events.nextEvent() {
                    case .frame(let frame): return "frame \(frame.sequence)"
                    case .noNewFrame: return "no new frame"
                    case .placeholder: return "placeholder"
                    case nil: return "ended"
                    }
                }
                while broadcaster.waitingSubscribers == 0 { await Task.yield() }
                return waiting
            }

            // Frame 1 came in the first interval: its tick wakes nobody.
            let first = await nextEvent(after: 1)
            clock.advance(by: .seconds(5))
            await clock.waitForSleepers(1)
            camera.send(testImage(2))
            #expect(await first.value == "frame 2")

            // Frame 2 came in the second interval; nothing in the third: a heartbeat at its end.
            let second = await nextEvent(after: 2)
            clock.advance(by: .seconds(5))
            await clock.waitForSleepers(1)
            #expect(broadcaster.waitingSubscribers == 1)
            clock.advance(by: .seconds(5))
            #expect(await second.value == "no new frame")

            // Plain iteration never sees heartbeats.
            let plain = Task {
                var frames = FrameSubscription.Iterator(lease: subscription.lease, lastSequence: 2)
                return await frames.next()?.sequence
            }
            while broadcaster.waitingSubscribers == 0 { await Task.yield() }
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(5))
            await clock.waitForSleepers(1)
            #expect(broadcaster.waitingSubscribers == 1)
            camera.send(testImage(3))
            #expect(await plain.value == 3)
        }
    }
}
