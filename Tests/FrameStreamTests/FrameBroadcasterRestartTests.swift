import FrameStreamTesting
import Testing

@testable import FrameStream

/// The restart backoff and what the log says about a camera that keeps failing.
@Suite(.timeLimit(.minutes(1)))
struct FrameBroadcasterRestartTests {
    struct Unplugged: Error, CustomStringConvertible {
        var description: String { "camera unplugged" }
    }

    /// Waits for the backoff after a failure and checks its deadline, then lets it pass.
    static func expectBackoff(
        _ delay: Duration,
        on clock: ManualClock,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        await clock.waitForSleepers(1)
        let due = clock.now.advanced(by: delay)
        #expect(clock.sleeperDeadlines == [due], "backoff of \(delay)", sourceLocation: sourceLocation)
        clock.advance(by: delay)
    }

    @Test func aCameraThatDeliversAFrameAndEndsStillBacksOff() async throws {
        // As a command that prints one JPEG and exits: each run's one frame must not reset the backoff.
        let camera = ManualCamera()
        let clock = ManualClock()
        let backoff = RestartBackoff(initial: .seconds(1), maximum: .seconds(4))
        try await withRunningBroadcaster(of: camera, clock: clock, backoff: backoff) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            for (run, delay) in zip(1..., [1, 2, 4, 4, 4] as [Int64]) {
                await camera.waitForStarts(run)
                camera.send(testImage(UInt8(run)))
                #expect(await frames.next()?.sequence == UInt64(run))
                camera.finish()
                await Self.expectBackoff(.seconds(delay), on: clock)
            }
            await camera.waitForStarts(6)
            #expect(broadcaster.status.restarts == 5)
        }
    }

    @Test func streamingForTheResetTimeForgetsTheFailures() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        let backoff = RestartBackoff(initial: .seconds(1), maximum: .seconds(8), resetAfter: .seconds(10))
        try await withRunningBroadcaster(of: camera, clock: clock, backoff: backoff) { broadcaster in
            var frames = broadcaster.subscribe().makeAsyncIterator()
            await camera.waitForStarts(1)
            camera.fail(Unplugged())
            await Self.expectBackoff(.seconds(1), on: clock)
            await camera.waitForStarts(2)
            camera.fail(Unplugged())
            await Self.expectBackoff(.seconds(2), on: clock)

            // Frames for a little less than the reset time: still failures in a row.
            await camera.waitForStarts(3)
            camera.send(testImage(1))
            #expect(await frames.next() != nil)
            clock.advance(by: .seconds(9))
            camera.send(testImage(2))
            #expect(await frames.next() != nil)
            camera.fail(Unplugged())
            await Self.expectBackoff(.seconds(4), on: clock)

            // Frames for the reset time: the next failure waits the initial delay again.
            await camera.waitForStarts(4)
            camera.send(testImage(3))
            #expect(await frames.next() != nil)
            clock.advance(by: .seconds(10))
            camera.send(testImage(4))
            #expect(await frames.next() != nil)
            camera.fail(Unplugged())
            await Self.expectBackoff(.seconds(1), on: clock)
        }
    }

    @Test func aRepeatedFailureIsLoggedOnceAMinute() async throws {
        let camera = ManualCamera()
        let clock = ManualClock()
        let messages = RecordingLogHandler.Messages()
        let broadcaster = FrameBroadcaster(
            source: camera,
            driverName: "manual",
            configuration: .init(
                restartBackoff: RestartBackoff(initial: .seconds(1), maximum: .seconds(1)),
                heartbeatInterval: nil,
                placeholders: .off
            ),
            clock: clock,
            logger: RecordingLogHandler.logger(recordingInto: messages)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await broadcaster.run() }
            let subscription = broadcaster.subscribe()
            // A failure every second, at 0 s, 1 s, … 61 s.
            for run in 1...62 {
                await camera.waitForStarts(run)
                camera.fail(Unplugged())
                await Self.expectBackoff(.seconds(1), on: clock)
            }
            withExtendedLifetime(subscription) {}
            group.cancelAll()
        }
        let failures = messages.all.filter { $0.hasPrefix("camera failed") }
        #expect(
            failures == [
                "camera failed: camera unplugged",
                "camera failed: camera unplugged (repeated 60 times)",
            ]
        )
    }

    @Test func aSubscriptionMadeBeforeRunWaitsAndTheCameraStartsWithRun() async throws {
        let camera = ManualCamera()
        let broadcaster = FrameBroadcaster(
            source: camera,
            driverName: "manual",
            configuration: .init(placeholders: .off),
            clock: ManualClock(),
            logger: quietLogger
        )
        let subscription = broadcaster.subscribe()
        // Counted at once, but nothing runs yet.
        #expect(broadcaster.status.subscribers == 1)
        #expect(broadcaster.status.phase == .stopped)
        #expect(camera.starts == 0)
        let waiting = Task {
            var frames = subscription.makeAsyncIterator()
            return await frames.next()?.sequence
        }
        await eventually { broadcaster.waitingSubscribers == 1 }
        #expect(camera.starts == 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await broadcaster.run() }
            await camera.waitForStarts(1)
            camera.send(testImage(1))
            #expect(await waiting.value == 1)
            group.cancelAll()
        }
    }
}

struct LogRepetitionLimiterTests {
    @Test func repeatsAreHeldBackAndCountedAndANewMessageComesAtOnce() {
        let clock = ManualClock()
        let limiter = LogRepetitionLimiter(interval: .seconds(60), clock: FrameClock(clock))
        #expect(limiter.line(for: "a") == "a")
        #expect(limiter.line(for: "a") == nil)
        clock.advance(by: .seconds(59))
        #expect(limiter.line(for: "a") == nil)
        clock.advance(by: .seconds(1))
        #expect(limiter.line(for: "a") == "a (repeated 3 times)")
        #expect(limiter.line(for: "a") == nil)
        #expect(limiter.line(for: "b") == "b")
        #expect(limiter.line(for: "a") == "a")
        clock.advance(by: .seconds(60))
        // Once a minute has passed without repeats, the message is logged as it is.
        #expect(limiter.line(for: "a") == "a")
        // After a reset (the camera recovered), the same message is news again.
        limiter.reset()
        #expect(limiter.line(for: "a") == "a")
    }
}

struct DurationSecondsTests {
    @Test func fractionalSecondsAreShown() {
        #expect(Duration.milliseconds(300).secondsDescription == "0.3 s")
        #expect(Duration.seconds(10).secondsDescription == "10 s")
        #expect(Duration.milliseconds(1250).secondsDescription == "1.25 s")
        #expect(Duration.microseconds(1).secondsDescription == "0 s")
        #expect(Duration.milliseconds(-1500).secondsDescription == "-1.5 s")
    }
}
