import FrameStream
import FrameStreamTesting
import Logging
import Synchronization

/// A broadcaster with a camera the benchmark drives and `count` subscribers, each in its own task, that take every
/// frame as soon as it is published.
final class FanOut: Sendable {
    let count: Int
    private let camera = ManualCamera()
    private let broadcaster: FrameBroadcaster
    private let tasks: Mutex<[Task<Void, any Error>]> = Mutex([])
    private let delivered = Mutex<(count: Int, waiter: CheckedContinuation<Void, Never>?)>((0, nil))
    /// A 45 KB frame, the size of a 640x480 webcam JPEG.
    private let image = JPEGImage(bytes: [0xFF, 0xD8] + [UInt8](repeating: 0x55, count: 45_000) + [0xFF, 0xD9])

    init(subscribers count: Int) async {
        self.count = count
        broadcaster = FrameBroadcaster(
            source: camera,
            driverName: "benchmark",
            logger: Logger(label: "benchmark", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let broadcaster = self.broadcaster
        var tasks = [Task<Void, any Error> { try await broadcaster.run() }]
        for _ in 0..<count {
            let subscription = broadcaster.subscribe()
            tasks.append(
                Task { [self] in
                    for await _ in subscription { self.received() }
                }
            )
        }
        self.tasks.withLock { $0 = tasks }
        await camera.waitForStarts(1)
    }

    /// Publishes one frame and returns when every subscriber has received it.
    func publishAndWait() async {
        await withCheckedContinuation { continuation in
            delivered.withLock { $0 = (0, continuation) }
            camera.send(image)
        }
    }

    /// Publishes one frame and returns it as a subscriber received it.
    func publishAndTake() async -> Frame {
        let subscription = broadcaster.subscribe()
        var frames = subscription.makeAsyncIterator()
        camera.send(image)
        return await frames.next()!
    }

    private func received() {
        let waiter = delivered.withLock { state -> CheckedContinuation<Void, Never>? in
            state.count += 1
            guard state.count == count else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func stop() async {
        let tasks = self.tasks.withLock { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
    }
}
