import Foundation
import FrameStream
import FrameStreamTesting
import Testing

/// The V4L2 driver end to end: the example server with `--camera v4l2`, through the real libv4l2, against the
/// stand-in device. Each test starts its own server process.
@Suite(.timeLimit(.minutes(1)))
struct V4L2CameraTests {
    static let fixture = TestFixtures.directory + "/1.jpg"

    static func withServer(
        _ arguments: [String] = [],
        standIn: [String: String] = [:],
        _ body: (StandInServer) async throws -> Void
    ) async throws {
        let server = try StandInServer(arguments: arguments, standIn: standIn)
        do {
            try await body(server)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func mjpegFramesPassThroughByteForByte() async throws {
        try await Self.withServer(standIn: ["FORMATS": "MJPG,YUYV", "JPEG": Self.fixture]) { server in
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            #expect(snapshot.body.elementsEqual([UInt8](FileManager.default.contents(atPath: Self.fixture)!)))
            #expect(server.events().contains("s_fmt MJPG 640x480"))
        }
    }

    @Test func yuyvWithPaddedRowsIsEncodedIntoTheRightImage() async throws {
        try await Self.withServer(["--size", "640x480", "--quality", "90"], standIn: ["FORMATS": "YUYV", "PAD": "64"]) {
            server in
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            let decoded = try DecodedJPEG(snapshot.body)
            #expect(decoded.width == 640 && decoded.height == 480)
            // The stand-in's pattern: luma = x * 255 / 640 in every row. Ignored padding would shear it.
            #expect(decoded.largestDifference { x, _ in x * 255 / 640 } <= 6)
        }
    }

    @Test func otherRawFormatsAreConvertedByLibv4l2AndEncoded() async throws {
        // An NV12-only camera: neither Motion-JPEG nor YUYV, so libv4l2 converts to planar 4:2:0 for the encoder.
        // Rows without padding: libv4lconvert 1.22 reads NV12 as if rows had none.
        try await Self.withServer(["--quality", "90"], standIn: ["FORMATS": "NV12", "PAD": "0"]) { server in
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            let decoded = try DecodedJPEG(snapshot.body)
            #expect(decoded.width == 640 && decoded.height == 480)
            #expect(decoded.largestDifference { x, _ in x * 255 / 640 } <= 6)
        }
    }

    @Test func busyDeviceSaysAnotherProgramHoldsIt() async throws {
        try await Self.withServer(["--idle-timeout", "30"], standIn: ["FAULTS": "busy", "JPEG": Self.fixture]) {
            server in
            let snapshot = try await server.get("/snapshot.jpg?placeholder=0")
            #expect(snapshot.status == 503)
            #expect(String(decoding: snapshot.body, as: UTF8.self).contains("is busy: another program is using it"))
            // Without ?placeholder=0, the picture that says so.
            let picture = try await server.get("/snapshot.jpg")
            #expect(picture.status == 503)
            #expect(try DecodedJPEG(picture.body).width == 640)
        }
    }

    @Test func missingAndWrongDevicesSayWhatToDo() async throws {
        try await Self.withServer(["--device", "/dev/video-stand-in7"]) { server in
            _ = try await server.get("/snapshot.jpg")
            let error = try await server.waitForError(containing: "not found")
            #expect(error.contains("/dev/video-stand-in7"))
        }
        try await Self.withServer(standIn: ["FAULTS": "not-capture"]) { server in
            _ = try await server.get("/snapshot.jpg")
            #expect(
                try await server.waitForError(containing: "is not a video capture device").contains(
                    StandInServer.device
                )
            )
        }
    }

    @Test func brokenAndTruncatedFramesAreDroppedNeverSent() async throws {
        try await Self.withServer(standIn: ["JPEG": Self.fixture, "FAULTS": "corrupt-every=2,truncated-every=3"]) {
            server in
            let expected = [UInt8](FileManager.default.contents(atPath: Self.fixture)!)
            var viewer = try await StreamViewer.open(server.baseURL + "/video_feed", client: server.client)
            for _ in 0..<8 {
                let part = try #require(try await viewer.nextPart())
                #expect(part.body.elementsEqual(expected))
            }
        }
    }

    @Test func unpluggedCameraComesBackAndViewersStayConnected() async throws {
        try await Self.withServer(standIn: ["JPEG": Self.fixture]) { server in
            var viewer = try await StreamViewer.open(server.baseURL + "/video_feed", client: server.client)
            _ = try #require(try await viewer.nextPart()?.sequence)
            server.unplug()
            // The log, not /status: there the next start's "missing" replaces this error a second later, which a
            // loaded machine's polling can miss.
            let error = try await server.waitForLog(containing: "camera failed: ")
            #expect(error.contains("unplugged"), "\(error)")
            #expect(error.contains(StandInServer.device))
            let lastBeforeUnplug = try #require(try await server.cameraStatus()["lastFrameSequence"] as? Int)
            // Meanwhile the viewer is told, in a picture of the stream's size, which is no frame.
            var part = try #require(try await viewer.nextPart())
            while part.headers["x-placeholder"] == nil {
                part = try #require(try await viewer.nextPart())
            }
            #expect(part.headers["x-placeholder"] == "retrying")
            #expect(part.sequence == nil)
            let placeholder = try DecodedJPEG(part.body)
            let frame = try DecodedJPEG([UInt8](FileManager.default.contents(atPath: Self.fixture)!))
            #expect(placeholder.width == frame.width && placeholder.height == frame.height)
            #expect(placeholder.gray.filter { $0 > 150 }.count > 500, "no text on the placeholder")
            try server.replug()
            // The same connection carries on with frames the camera makes once it is back.
            var sequence = 0
            while sequence <= lastBeforeUnplug {
                let part = try #require(try await viewer.nextPart())
                guard part.headers["x-placeholder"] == nil else { continue }
                sequence = Int(try #require(part.sequence))
            }
            // And the placeholders stop.
            for _ in 0..<5 {
                #expect(try #require(try await viewer.nextPart()).headers["x-placeholder"] == nil)
            }
            #expect(server.events().filter { $0 == "open" }.count >= 2)
        }
    }

    @Test func idleStopReleasesTheDevice() async throws {
        try await Self.withServer(["--idle-timeout", "0"], standIn: ["JPEG": Self.fixture]) { server in
            do {
                var viewer = try await StreamViewer.open(server.baseURL + "/video_feed", client: server.client)
                _ = try await viewer.nextPart()
            }
            // The viewer is gone; the camera stops at once. Wait for the device to be closed, then check that
            // everything was released in order.
            var events: [String] = []
            for _ in 0..<200 {
                events = server.events()
                if events.last == "close" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(events.last == "close")
            #expect(events.contains("streamoff"))
            #expect(events.filter { $0 == "mmap" }.count == events.filter { $0 == "munmap" }.count)
            #expect(events.filter { $0 == "mmap" }.count == 4)
            // And the next viewer can open it again.
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
        }
    }

    @Test func listsTheDeviceWithItsFormats() async throws {
        let products = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: products + "/ExampleServer")
        process.arguments = ["--list-devices", "--device", StandInServer.device]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["LD_PRELOAD": products + "/libV4L2StandIn.so"],
            uniquingKeysWith: { _, new in new }
        )
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.contains("/dev/video-stand-in: FrameStream stand-in camera"))
        #expect(text.contains("MJPG: 640x480@30/15 1280x720@30/15 320x240@30/15"))
        #expect(text.contains("YUYV: 640x480@30/15 1280x720@30/15 320x240@30/15"))
        // Formats libv4l2 only emulates by converting are not the camera's own.
        #expect(!text.contains("RGB3"))
    }
}
