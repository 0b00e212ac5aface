import FrameStreamHTTP
import FrameStreamTesting
import Testing

struct LoginThrottleTests {
    @Test func failuresSlowDownThenLockOutAndTheLockoutEnds() {
        let clock = ManualClock()
        let throttle = LoginThrottle(uptime: { clock.now.offset })
        var delays: [Duration] = []
        for _ in 1...9 {
            guard case .retry(let delay, _) = throttle.recordFailure(from: "10.0.0.1") else {
                Issue.record("locked out too early")
                return
            }
            delays.append(delay)
        }
        #expect(delays == [0, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3].map { Duration.milliseconds(Int($0 * 1000)) })
        #expect(throttle.recordFailure(from: "10.0.0.1") == .lockedOut(for: .seconds(300), failures: 10))
        #expect(throttle.lockout(of: "10.0.0.1") == .seconds(300))
        #expect(throttle.lockout(of: "10.0.0.2") == nil)
        clock.advance(by: .seconds(299))
        #expect(throttle.lockout(of: "10.0.0.1") == .seconds(1))
        clock.advance(by: .seconds(1))
        #expect(throttle.lockout(of: "10.0.0.1") == nil)
        #expect(throttle.recordFailure(from: "10.0.0.1") == .retry(after: .zero, failures: 1))
    }

    @Test func onlyFailuresWithinTheWindowCountAndASuccessClearsThem() {
        let clock = ManualClock()
        let throttle = LoginThrottle(
            configuration: .init(maxFailures: 3, window: .seconds(60)),
            uptime: { clock.now.offset }
        )
        _ = throttle.recordFailure(from: "a")
        clock.advance(by: .seconds(40))
        _ = throttle.recordFailure(from: "a")
        clock.advance(by: .seconds(20))
        // The first failure is now 60 s old: out of the window.
        #expect(throttle.recordFailure(from: "a") == .retry(after: .zero, failures: 2))
        throttle.recordSuccess(from: "a")
        #expect(throttle.recordFailure(from: "a") == .retry(after: .zero, failures: 1))
    }
}
