import Foundation
import FrameStream
import FrameStreamTesting
import Logging
import Testing

@testable import FrameStreamRecording

/// A logger that drops everything, so that test output stays readable.
let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// 2023-11-14 22:13:20 UTC: a fixed start for recordings whose times do not matter to retention.
let fixedStart: Int64 = 1_700_000_000_000_000

/// A small JPEG that recovery recognises as one (start of image, a frame header, a scan, end of image), whose scan
/// bytes tell which frame it is and whose length varies with it.
func testJPEG(_ index: Int) -> [UInt8] {
    var jpeg: [UInt8] = [0xFF, 0xD8]
    jpeg += [0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00]  // frame header
    jpeg += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]  // scan header
    // The frame's number in four bytes (no FF among them), then filler: 100 to 400 bytes of scan.
    jpeg += [UInt8(index >> 21 & 0x7F), UInt8(index >> 14 & 0x7F), UInt8(index >> 7 & 0x7F), UInt8(index & 0x7F)]
    jpeg += (0..<(100 + index * 37 % 300)).map { UInt8(($0 &* 31 &+ index) % 0xFE) }
    return jpeg + [0xFF, 0xD9]
}

/// A frame to send: its JPEG and when it was captured.
struct TestFrame: Sendable, Hashable {
    var jpeg: [UInt8]
    var micros: Int64

    init(_ index: Int, micros: Int64) {
        jpeg = testJPEG(index)
        self.micros = micros
    }

    var image: JPEGImage { JPEGImage(bytes: jpeg, captureTime: Date(microsSince1970: micros)) }
}

/// `count` frames from `start`, `spacing` apart, numbered from `firstIndex`.
func testFrames(_ count: Int, from start: Int64, spacing: Duration, firstIndex: Int = 0) -> [TestFrame] {
    (0..<count).map { TestFrame(firstIndex + $0, micros: start + Int64($0) * spacing.microseconds) }
}

/// A camera recorded into a store: what ``withRecording(folder:camera:configuration:store:_:)`` hands its body.
struct RecordingRig: Sendable {
    let camera: ManualCamera
    let broadcaster: FrameBroadcaster
    let store: RecordingStore
    let recorder: FrameRecorder

    /// Sends `frames` and waits until the recorder has written `framesWritten` in all (by default, every frame it
    /// has been sent).
    func record(_ frames: [TestFrame], untilWritten count: UInt64? = nil) async throws {
        let target = count ?? (recorder.status.framesWritten + UInt64(frames.count))
        for frame in frames { camera.send(frame.image) }
        try await waitUntil("\(target) frames written") { recorder.status.framesWritten >= target }
    }
}

/// Runs `body` while a recorder records a manual camera into a store in `folder` (a new store, unless one is
/// given), then stops it, which closes its segment. The camera's broadcaster stops the camera at once when nobody
/// watches, so that a camera that stays on is kept on by the recorder.
func withRecording<Result: Sendable>(
    folder: String,
    camera name: String = "door",
    configuration: FrameRecorder.Configuration = FrameRecorder.Configuration(),
    store: RecordingStore? = nil,
    _ body: (RecordingRig) async throws -> Result
) async throws -> Result {
    let camera = ManualCamera()
    let broadcaster = FrameBroadcaster(
        source: camera,
        driverName: "manual",
        configuration: .init(idleTimeout: .zero, heartbeatInterval: nil),
        logger: quietLogger
    )
    let store = try store ?? RecordingStore(folder: folder, logger: quietLogger)
    let recorder = FrameRecorder(
        camera: name,
        broadcaster: broadcaster,
        store: store,
        configuration: configuration,
        logger: quietLogger
    )
    let rig = RecordingRig(camera: camera, broadcaster: broadcaster, store: store, recorder: recorder)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await broadcaster.run() }
        group.addTask { try await recorder.run() }
        // The recorder's own subscription starts the camera; its observation is in place before.
        try await waitUntil("the recorder starts the camera") { camera.starts >= 1 }
        let result: Result
        do {
            result = try await body(rig)
        } catch {
            group.cancelAll()
            try? await group.waitForAll()
            throw error
        }
        group.cancelAll()
        try await group.waitForAll()
        return result
    }
}

/// Records `frames` with a recorder of its own into the store in `folder`, and stops it.
func record(
    _ frames: [TestFrame],
    in folder: String,
    camera: String = "door",
    configuration: FrameRecorder.Configuration = FrameRecorder.Configuration(),
    store: RecordingStore? = nil
) async throws {
    try await withRecording(folder: folder, camera: camera, configuration: configuration, store: store) { rig in
        try await rig.record(frames)
    }
}

/// Waits (polling: the recorder writes on a thread of its own) until `condition` holds; fails after `timeout`, a
/// deadline against hangs, not a speed limit: generous, since the whole suite runs in parallel on as few as 2 cores.
func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(30),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Runs `body` with a new empty folder under the temporary folder, removed after.
func withTemporaryFolder<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("recording-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

/// Every frame of a history from the oldest on, read one after the other.
func allFrames(of history: some FrameHistory) -> [RecordedFrame] {
    var frames: [RecordedFrame] = []
    var last = Int64.min
    while let frame = history.frame(after: last) {
        frames.append(frame)
        last = frame.captureMicros
        if frames.count > 100_000 { break }
    }
    return frames
}

/// The segment files under a store's folder, as `CAMERA/DAY/NAME.EXT`, sorted.
func segmentFiles(in folder: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: folder)
    var files: [String] = []
    while let path = enumerator?.nextObject() as? String {
        if path.hasSuffix(".mjpeg") || path.hasSuffix(".idx") { files.append(path) }
    }
    return files.sorted()
}

/// The bytes of the segment files under a store's folder: what recordings take on the disk.
func bytesOfSegmentFiles(in folder: String) -> Int64 {
    segmentFiles(in: folder).reduce(0) { total, file in
        let attributes = try? FileManager.default.attributesOfItem(atPath: "\(folder)/\(file)")
        return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
    }
}

/// All the catalog's rows, oldest first.
func catalogRows(of store: RecordingStore) throws -> [CatalogSegment] {
    try store.catalog.allSegments()
}

/// A frame as failures show it: its number (from its bytes, checked against ``testJPEG(_:)``) and capture time.
struct FrameLabel: Hashable, CustomStringConvertible {
    /// The frame's number; `nil` if its bytes are not those of a test frame.
    var number: Int?
    var micros: Int64

    var description: String { "#\(number.map(String.init) ?? "?")@\(micros)" }
}

extension RecordedFrame {
    var label: FrameLabel {
        guard jpeg.count > 28 else { return FrameLabel(number: nil, micros: captureMicros) }
        let number = jpeg[25...28].reduce(0) { $0 << 7 | Int($1) }
        return FrameLabel(number: jpeg == testJPEG(number) ? number : nil, micros: captureMicros)
    }
}

extension TestFrame {
    var label: FrameLabel { FrameLabel(number: Int(jpeg[25...28].reduce(0) { $0 << 7 | Int($1) }), micros: micros) }
}

/// The labels of every frame of a history, from the oldest on.
func labelsOfAllFrames(of history: some FrameHistory) -> [FrameLabel] {
    allFrames(of: history).map(\.label)
}
