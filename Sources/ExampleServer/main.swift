import FrameStream
import Logging

// Until the HTTP server lands: run the camera that CAMERA selects and log each frame it delivers.
let logger = Logger(label: "ExampleServer")
let source = try FrameSourceRegistry.standard.makeSourceFromEnvironment()
let broadcaster = FrameBroadcaster(source: source, driverName: "emulated", logger: logger)
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await broadcaster.run() }
    for await frame in broadcaster.subscribe().prefix(5) {
        logger.info("frame \(frame.sequence): \(frame.jpeg.count) bytes")
    }
    group.cancelAll()
}
