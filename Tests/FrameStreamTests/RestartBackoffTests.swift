import FrameStream
import Testing

struct RestartBackoffTests {
    @Test func delayDoublesUpToTheMaximum() {
        let backoff = RestartBackoff(initial: .milliseconds(500), maximum: .seconds(3))
        let delays = (1...6).map { backoff.delay(afterFailures: $0) }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3), .seconds(3)])
    }
}
