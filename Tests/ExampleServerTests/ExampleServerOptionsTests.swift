import ArgumentParser
import FrameStream
import Testing

@testable import ExampleServer

struct ExampleServerOptionsTests {
    @Test func defaultsFollowTheArticle() throws {
        let server = try ExampleServer.parse([])
        #expect(server.host == "127.0.0.1")
        #expect(server.port == 5000)
        #expect(server.idleTimeout == 10)
        #expect(server.maxClients == 1000)
        #expect(server.heartbeat == 5)
        #expect(server.stallTimeout == 30)
    }

    @Test(arguments: [
        ["--port", "70000"], ["--port", "http"], ["--idle-timeout", "-1"], ["--max-clients", "0"],
        ["--max-fps", "0"], ["--max-fps", "abc"], ["--heartbeat", "0"], ["--stall-timeout", "-3"],
        ["--quality", "101"], ["--size", "640"], ["--size", "0x480"], ["--log-level", "loud"], ["--frobnicate"],
    ])
    func badValuesFailAtStart(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try ExampleServer.parse(arguments) }
    }

    @Test func cameraComesFromTheFlagThenTheEnvironment() throws {
        let fromFlag = try ExampleServer.parse(["--camera", "Emulated", "--fps", "2"]).makeCamera(environment: [:])
        #expect(fromFlag.name == "emulated")
        #expect((fromFlag.source as? EmulatedCamera)?.frameInterval == .milliseconds(500))
        let fromEnvironment = try ExampleServer.parse([]).makeCamera(environment: ["CAMERA": "emulated"])
        #expect(fromEnvironment.name == "emulated")
        let byDefault = try ExampleServer.parse([]).makeCamera(environment: [:])
        #expect(byDefault.name == "emulated")
    }

    @Test func unknownCameraFailsWithTheKnownNames() throws {
        let server = try ExampleServer.parse(["--camera", "kinect"])
        let error = #expect(throws: FrameSourceRegistryError.self) { try server.makeCamera(environment: [:]) }
        #expect(error?.description.contains("kinect") == true)
        #expect(error?.description.contains("emulated") == true)
        #expect(throws: FrameSourceRegistryError.self) {
            try ExampleServer.parse([]).makeCamera(environment: ["CAMERA": "picamera2"])
        }
    }

    @Test func missingFramesFolderFailsWithThePath() throws {
        let server = try ExampleServer.parse(["--frames-dir", "/nonexistent/frames"])
        let error = #expect(throws: CameraError.self) { try server.makeCamera(environment: [:]) }
        #expect(error?.description.contains("/nonexistent/frames") == true)
    }
}
