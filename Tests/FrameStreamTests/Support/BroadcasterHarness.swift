import FrameStream
import FrameStreamTesting
import Logging

/// A logger that drops everything, so that test output stays readable.
let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A tiny stand-in JPEG whose third byte tells which frame it is.
func testImage(_ marker: UInt8) -> JPEGImage {
    JPEGImage(bytes: [0xFF, 0xD8, marker, 0xFF, 0xD9])
}

/// Runs `body` with a broadcaster of `camera` whose `run()` is in progress, and stops it afterwards.
func withRunningBroadcaster<Result: Sendable>(
    of camera: ManualCamera,
    clock: ManualClock,
    idleTimeout: Duration? = .seconds(10),
    backoff: RestartBackoff = RestartBackoff(initial: .seconds(1), maximum: .seconds(4)),
    heartbeatInterval: Duration? = nil,
    // Off unless a test is about them: their timer is one more sleeper on the manual clock.
    placeholders: FrameBroadcaster.Placeholders = .off,
    orientation: FrameOrientation = .upright,
    _ body: (FrameBroadcaster) async throws -> Result
) async throws -> Result {
    let broadcaster = FrameBroadcaster(
        source: camera,
        driverName: "manual",
        configuration: .init(
            idleTimeout: idleTimeout,
            restartBackoff: backoff,
            heartbeatInterval: heartbeatInterval,
            placeholders: placeholders,
            orientation: orientation
        ),
        clock: clock,
        logger: quietLogger
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await broadcaster.run() }
        defer { group.cancelAll() }
        return try await body(broadcaster)
    }
}

/// Yields until `condition` holds: for state that changes on another task and that no clock or camera event
/// announces (such as a subscriber starting to wait).
func eventually(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}
