import Foundation
import FrameStream
import FrameStreamTesting
import Testing

@Suite(.timeLimit(.minutes(1)))
struct TestPatternCameraTests {
    @Test func framesDecodeAtTheAskedSizeAndCarryTheirCaptureTime() async throws {
        let camera = try TestPatternCamera(configuration: .init(size: FrameSize(width: 320, height: 240), quality: 70))
        var frames = camera.frames().makeAsyncIterator()
        var previous: [UInt8]?
        for _ in 0..<3 {
            let image = try #require(try await frames.next())
            let decoded = try DecodedJPEG(image.bytes)
            #expect(decoded.width == 320 && decoded.height == 240)
            let stamped = try #require(TestPatternCamera.timestamp(in: image.bytes))
            #expect(abs(stamped.timeIntervalSince(image.captureTime)) < 0.000_001)
            #expect(image.bytes != previous, "the pattern moves")
            previous = image.bytes
        }
    }

    @Test func framesComeAtTheConfiguredRate() async throws {
        let clock = ManualClock()
        let camera = try TestPatternCamera(
            configuration: .init(size: FrameSize(width: 64, height: 48), framesPerSecond: 20),
            clock: clock
        )
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                var count = 0
                for try await _ in camera.frames().prefix(3) { count += 1 }
                return count
            }
            for _ in 1...2 {
                await clock.waitForSleepers(1)
                clock.advance(by: .milliseconds(49))
                #expect(clock.sleeperCount == 1)
                clock.advance(by: .milliseconds(1))
            }
            return try await group.next()!
        }
        #expect(count == 3)
    }

    @Test func registeredAsTestpatternWithOptions() throws {
        let source = try FrameSourceRegistry.standard.makeSource(
            named: "testpattern",
            options: CameraOptions(size: FrameSize(width: 1280, height: 720), framesPerSecond: 60, quality: 50)
        )
        let camera = try #require(source as? TestPatternCamera)
        #expect(
            camera.configuration == .init(size: FrameSize(width: 1280, height: 720), framesPerSecond: 60, quality: 50)
        )
    }

    @Test(arguments: [
        TestPatternCamera.Configuration(framesPerSecond: 0),
        TestPatternCamera.Configuration(size: FrameSize(width: 641, height: 480)),
        TestPatternCamera.Configuration(size: FrameSize(width: 8, height: 8)),
        TestPatternCamera.Configuration(quality: 101),
    ])
    func rejectsBadOptions(_ configuration: TestPatternCamera.Configuration) {
        #expect(throws: CameraError.self) { try TestPatternCamera(configuration: configuration) }
    }
}
