import FrameStream
import Testing

/// A driver defined outside the library, as a user's program would define one.
private struct SolidColorCamera: FrameSource {
    let color: String

    func frames() -> AsyncStream<JPEGImage> {
        AsyncStream { JPEGImage(bytes: [0xFF, 0xD8] + Array(color.utf8) + [0xFF, 0xD9]) }
    }
}

struct FrameSourceRegistryTests {
    @Test func emulatedCameraIsTheDefaultWhenCameraIsUnset() throws {
        let source = try FrameSourceRegistry.standard.makeSourceFromEnvironment([:])
        #expect(source is EmulatedCamera)
        let empty = try FrameSourceRegistry.standard.makeSourceFromEnvironment(["CAMERA": ""])
        #expect(empty is EmulatedCamera)
    }

    @Test func cameraVariableSelectsTheDriverWithoutRegardToCase() throws {
        let source = try FrameSourceRegistry.standard.makeSourceFromEnvironment(
            ["CAMERA": "Emulated"],
            options: CameraOptions(framesPerSecond: 5)
        )
        let camera = try #require(source as? EmulatedCamera)
        #expect(camera.frameInterval == .milliseconds(200))
    }

    @Test func unknownDriverFailsWithTheKnownNames() throws {
        var registry = FrameSourceRegistry.standard
        registry.register("solid", aliases: ["colour"], summary: "one color") { _ in SolidColorCamera(color: "red") }
        let error = #expect(throws: FrameSourceRegistryError.self) {
            try registry.makeSourceFromEnvironment(["CAMERA": "kinect"])
        }
        let known = (FrameSourceRegistry.standard.names + ["colour", "solid"]).sorted()
        #expect(known.contains("emulated"))
        #expect(error == .unknownDriver("kinect", known: known))
        #expect(
            error?.description
                == "unknown camera driver 'kinect': set CAMERA (or --camera) to one of: \(known.joined(separator: ", "))"
        )
    }

    @Test func programsRegisterTheirOwnDriversWithOptions() async throws {
        var registry = FrameSourceRegistry.standard
        registry.register("solid", aliases: ["colour"], summary: "one color") { options in
            SolidColorCamera(color: options.extra["color"] ?? "black")
        }
        let source = try registry.makeSource(named: "colour", options: CameraOptions(extra: ["color": "blue"]))
        let camera = try #require(source as? SolidColorCamera)
        var frames = camera.frames().makeAsyncIterator()
        #expect(await frames.next()?.bytes == [0xFF, 0xD8] + Array("blue".utf8) + [0xFF, 0xD9])
        #expect(registry.drivers.map(\.name) == FrameSourceRegistry.standard.drivers.map(\.name) + ["solid"])
        #expect(registry.driver(named: "SOLID")?.summary == "one color")
    }

    @Test func driverErrorsReachTheCaller() throws {
        #expect(throws: CameraError.self) {
            try FrameSourceRegistry.standard.makeSource(
                named: "emulated",
                options: CameraOptions(framesDirectory: "/nonexistent")
            )
        }
    }
}

struct FrameSizeTests {
    @Test func parsesWidthByHeight() {
        #expect(FrameSize("640x480") == FrameSize(width: 640, height: 480))
        #expect(FrameSize("1280X720")?.description == "1280x720")
    }

    @Test(arguments: ["", "640", "640x", "x480", "640x480x3", "-640x480", "0x480", "abcxdef", "99999x1"])
    func rejectsMalformedSizes(_ text: String) {
        #expect(FrameSize(text) == nil)
    }
}
