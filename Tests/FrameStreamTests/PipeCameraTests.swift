import Foundation
import FrameStream
import FrameStreamTesting
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(1)))
struct PipeCameraTests {
    static let fixtures = TestFixtures.directory

    static func fixture(_ number: Int) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: "\(fixtures)/\(number).jpg")!)
    }

    func camera(
        _ command: String,
        stallTimeout: Duration = .seconds(10),
        maximumFrameBytes: Int = JPEGStreamSplitter.defaultMaximumFrameBytes,
        environment: [String: String] = [:],
        logger: Logger = quietLogger
    ) throws
        -> PipeCamera
    {
        try PipeCamera(
            configuration: .init(
                command: command,
                environment: environment,
                maximumFrameBytes: maximumFrameBytes,
                stallTimeout: stallTimeout
            ),
            logger: logger
        )
    }

    @Test func imagesAreCutOutOfTheOutputWithGarbageBetween() async throws {
        // A pause after each image, so that a consumer slowed by other tests running alongside still gets both
        // (it keeps only the newest of images that come at once).
        let command =
            "while true; do cat '\(Self.fixtures)/1.jpg'; printf 'progress: 42%%\\n'; sleep 0.05; "
            + "cat '\(Self.fixtures)/2.jpg'; sleep 0.05; done"
        var frames = try camera(command).frames().makeAsyncIterator()
        var seen: Set<Int> = []
        for _ in 0..<20 where seen != [1, 2] {
            let image = try #require(try await frames.next())
            // A slow consumer may skip frames, but never gets a partial or merged one.
            let match = [1, 2].first { image.bytes.elementsEqual(Self.fixture($0)) }
            #expect(match != nil)
            seen.insert(match ?? 0)
        }
        #expect(seen == [1, 2])
    }

    @Test func aCommandThatDiesReportsItsStatusAndLastMessage() async throws {
        let command = "cat '\(Self.fixtures)/3.jpg'; echo 'sensor exploded' >&2; exit 3"
        var frames = try camera(command).frames().makeAsyncIterator()
        #expect(try await frames.next()?.bytes == Self.fixture(3))
        let error = await #expect(throws: PipeCameraError.self) { try await frames.next() }
        #expect(error == .commandExited(command, status: 3, lastMessage: "sensor exploded"))
    }

    @Test func aMissingCommandSaysSo() async throws {
        var frames = try camera("no-such-camera-program --mjpeg").frames().makeAsyncIterator()
        let error = await #expect(throws: PipeCameraError.self) { try await frames.next() }
        guard case .commandExited(_, let status, _) = error else {
            Issue.record("expected commandExited, got \(String(describing: error))")
            return
        }
        #expect(status == 127)
        #expect(error?.description.contains("command not found") == true)
    }

    @Test func garbageWithoutImagesCountsAsAStall() async throws {
        let command = "while true; do echo 'no jpeg here'; sleep 0.05; done"
        var frames = try camera(command, stallTimeout: .milliseconds(300)).frames().makeAsyncIterator()
        let error = await #expect(throws: PipeCameraError.self) { try await frames.next() }
        #expect(error == .noImages(command, after: .milliseconds(300)))
        // The timeout as it was set, not rounded down to whole seconds.
        #expect(error?.description.contains("wrote no JPEG image for 0.3 s") == true)
    }

    @Test func imagesOverTheLimitAreDroppedAndTheStallSaysHowLargeTheyAre() async throws {
        let command = "while true; do cat '\(Self.fixtures)/3.jpg'; sleep 0.05; done"
        let messages = RecordingLogHandler.Messages()
        let camera = try camera(
            command,
            stallTimeout: .milliseconds(300),
            maximumFrameBytes: 10_000,
            logger: RecordingLogHandler.logger(recordingInto: messages)
        )
        var frames = camera.frames().makeAsyncIterator()
        let error = await #expect(throws: PipeCameraError.self) { try await frames.next() }
        let size = Self.fixture(3).count
        #expect(error == .frameTooLarge(command, bytes: size, limit: 10_000))
        #expect(error?.description.contains("frame of 24.3 KB exceeds the 10.0 KB limit") == true)
        #expect(error?.description.contains("raise maximumFrameBytes to at least \(size)") == true)
        // Each drop is a warning, but the same one only once (a minute).
        #expect(messages.all.filter { $0.contains("exceeds the 10.0 KB limit") }.count == 1)
    }

    @Test func aLimitBelowOneKilobyteIsRefused() {
        #expect(throws: CameraError.self) { try camera("true", maximumFrameBytes: 1000) }
    }

    @Test func theFrameLimitComesFromTheOptions() throws {
        let source = try FrameSourceRegistry.standard.makeSource(
            named: "pipe",
            options: CameraOptions(command: "true", maximumFrameBytes: 50 << 20)
        )
        #expect((source as? PipeCamera)?.configuration.maximumFrameBytes == 50 << 20)
        let pi = try PiCamera(
            configuration: .init(options: CameraOptions(maximumFrameBytes: 1 << 20)),
            logger: quietLogger
        )
        #expect(pi.configuration.maximumFrameBytes == 1 << 20)
    }

    @Test func whatTheCommandLeftInItsGroupIsEndedAfterItExits() async throws {
        let folder = try TemporaryFolder()
        // The shell exits at once after starting a helper in its group and writing one image.
        let command = "sleep 600 >/dev/null 2>&1 & echo $! > '\(folder.path)/pid'; cat '\(Self.fixtures)/1.jpg'; exit 0"
        var frames = try camera(command).frames().makeAsyncIterator()
        #expect(try await frames.next()?.bytes == Self.fixture(1))
        await #expect(throws: PipeCameraError.self) { try await frames.next() }
        let pid = try #require(
            Int32(
                try String(contentsOfFile: "\(folder.path)/pid", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            )
        )
        #expect(!Self.isRunning(pid), "process \(pid) outlived the command")
    }

    @Test func stoppingTheCameraEndsTheWholeCommandAndLeavesNoProcess() async throws {
        let folder = NSTemporaryDirectory() + "framestream-pipe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The shell starts a helper in the background and records both process ids before writing an image.
        let command =
            "sleep 600 & echo \"$$ $!\" > '\(folder)/pids'; "
            + "while true; do cat '\(Self.fixtures)/1.jpg'; sleep 0.1; done"
        let source = try camera(command)
        let (firstImage, firstImageSink) = AsyncStream.makeStream(of: Int.self)
        let reading = Task {
            var frames = source.frames().makeAsyncIterator()
            firstImageSink.yield(try await frames.next()?.bytes.count ?? 0)
            while try await frames.next() != nil {}
        }
        var images = firstImage.makeAsyncIterator()
        #expect(await images.next() == Self.fixture(1).count)
        let pids = try String(contentsOfFile: "\(folder)/pids", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(pids.count == 2)
        #expect(pids.allSatisfy { kill($0, 0) == 0 })
        // Cancelling the iteration returns only once the command's whole process group has been ended and reaped.
        reading.cancel()
        _ = try? await reading.value
        for pid in pids {
            #expect(!Self.isRunning(pid), "process \(pid) outlived the camera")
        }
    }

    /// Writes a script through a close-on-exec descriptor: a child that another test starts at the same moment
    /// must not inherit it open for writing, or running the script fails with "Text file busy".
    static func writeExecutable(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        precondition(fd >= 0, "cannot create \(path)")
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        precondition(written == bytes.count)
        close(fd)
    }

    /// Whether a process exists and is not a zombie.
    static func isRunning(_ pid: Int32) -> Bool {
        for _ in 0..<300 {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            if state == "Z" { return false }
            usleep(10_000)
        }
        return true
    }

    @Test func piCameraRunsRpicamVidWithTheOptions() async throws {
        let folder = NSTemporaryDirectory() + "framestream-pi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script =
            "#!/bin/sh\necho \"$@\" > '\(folder)/arguments'\n"
            + "while true; do cat '\(Self.fixtures)/2.jpg'; sleep 0.05; done\n"
        Self.writeExecutable(script, to: "\(folder)/rpicam-vid")
        let camera = try PiCamera(
            configuration: .init(
                size: FrameSize(width: 320, height: 240),
                framesPerSecond: 15,
                quality: 70,
                extraArguments: ["--rotation", "180"],
                environment: ["PATH": "\(folder):/usr/bin:/bin"]
            ),
            logger: quietLogger
        )
        var frames = camera.frames().makeAsyncIterator()
        #expect(try await frames.next()?.bytes == Self.fixture(2))
        let arguments = try String(contentsOfFile: "\(folder)/arguments", encoding: .utf8)
        #expect(
            arguments.trimmingCharacters(in: .whitespacesAndNewlines)
                == "-t 0 --codec mjpeg --width 320 --height 240 --framerate 15 -q 70 --nopreview -o - --rotation 180"
        )
    }

    @Test func piCameraWithoutTheCameraProgramSaysWhatToInstall() async throws {
        let camera = try PiCamera(configuration: .init(environment: ["PATH": "/nonexistent"]), logger: quietLogger)
        var frames = camera.frames().makeAsyncIterator()
        let error = await #expect(throws: PipeCameraError.self) { try await frames.next() }
        #expect(error?.description.contains("rpicam-apps") == true)
    }

    @Test func registryNeedsACommandForThePipeDriver() {
        #expect(throws: CameraError.self) { try FrameSourceRegistry.standard.makeSource(named: "pipe") }
        #expect(throws: Never.self) {
            try FrameSourceRegistry.standard.makeSource(named: "pipe", options: CameraOptions(command: "true"))
        }
    }
}
