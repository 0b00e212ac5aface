import ArgumentParser
import Foundation
import FrameStream
import Logging
import Testing

@testable import ExampleServer

private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The server's configuration from these flags (and environment).
private func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> ServerConfiguration {
    try ExampleServer.parse(arguments).serverConfiguration(environment: environment)
}

/// The drivers these flags make.
private func sources(
    _ arguments: [String],
    environment: [String: String] = [:]
) throws -> [(camera: CameraConfiguration, source: any FrameSource, logger: Logger)] {
    try ExampleServer.makeSources(for: configuration(arguments, environment: environment), file: nil, logger: quiet)
}

struct ExampleServerOptionsTests {
    @Test func defaultsFollowTheArticle() throws {
        let server = try configuration([])
        #expect(server.host == "127.0.0.1")
        #expect(server.port == 5000)
        #expect(server.logLevel == .info)
        let camera = try #require(server.cameras.first)
        #expect(server.cameras.count == 1)
        #expect(camera.name == "emulated")
        #expect(camera.driver == "emulated")
        #expect(camera.idleTimeout == 10)
        #expect(camera.maxClients == 1000)
        #expect(camera.heartbeat == 5)
        #expect(camera.stallTimeout == 30)
    }

    @Test(arguments: [
        (["--port", "70000"], "--port must be from 0 to 65535"), (["--port", "http"], "'--port <port>'"),
        (["--idle-timeout=-1"], "--idle-timeout must be 0 or more seconds"),
        (["--idle-timeout", "soon"], "'--idle-timeout <idle-timeout>'"),
        (["--max-clients", "0"], "--max-clients must be from 1"), (["--max-fps", "0"], "--max-fps must be from 0.001"),
        (["--max-fps", "1e-19"], "--max-fps must be from 0.001"), (["--max-fps", "abc"], "'--max-fps <max-fps>'"),
        (["--fps", "1e-19"], "--fps must be from 0.001"), (["--fps", "nan"], "--fps must be from 0.001"),
        (["--heartbeat", "0"], "--heartbeat must be from 0.01"), (["--heartbeat", "1e-300"], "--heartbeat must be"),
        (["--stall-timeout=-3"], "--stall-timeout must be"),
        (["--quality", "101"], "--quality must be from 1 to 100"),
        (["--size", "640"], "'--size <size>'"), (["--size", "0x480"], "'--size <size>'"),
        (["--log-level", "loud"], "'--log-level <log-level>'"),
        (["--request-timeout", "0"], "--request-timeout must be"),
        (["--max-connections", "0"], "--max-connections must be"),
        (["--frobnicate"], "--frobnicate"), (["--name", "front door"], "--name must be"),
        (["--name", "../x"], "--name must be"),
        (["--config", "cams.yaml", "--camera", "v4l2"], "--camera and --name"),
    ])
    func aBadValueFailsAtStartNamingItsFlag(_ arguments: [String], _ expected: String) {
        let error = #expect(throws: (any Error).self) { try ExampleServer.parse(arguments) }
        let message = error.map { ExampleServer.message(for: $0) } ?? ""
        #expect(message.contains(expected), "\(arguments): \(message)")
    }

    @Test func idleTimeoutCanBeNever() throws {
        #expect(try configuration(["--idle-timeout", "never"]).cameras.first?.idleTimeout == nil)
        #expect(try configuration(["--idle-timeout", "2.5"]).cameras.first?.idleTimeout == 2.5)
        #expect(try configuration([]).cameras.first?.idleTimeout == 10)
    }

    @Test func aWildcardHostIsShownAsAnAddressAPersonCanOpen() {
        #expect(ExampleServer.address(host: "127.0.0.1", port: 5000) == "http://127.0.0.1:5000/")
        #expect(ExampleServer.address(host: "::1", port: 80) == "http://[::1]:80/")
        let wildcard = ExampleServer.address(host: "0.0.0.0", port: 5000)
        #expect(wildcard.contains("all interfaces") && wildcard.contains("http://127.0.0.1:5000/"), "\(wildcard)")
    }

    @Test func cameraComesFromTheFlagThenTheEnvironment() throws {
        let fromFlag = try sources(["--camera", "Emulated", "--fps", "2"])
        #expect(fromFlag.first?.camera.driver == "emulated")
        #expect((fromFlag.first?.source as? EmulatedCamera)?.frameInterval == .milliseconds(500))
        let fromEnvironment = try configuration([], environment: ["CAMERA": "testpattern"])
        #expect(fromEnvironment.cameras.first?.driver == "testpattern")
        #expect(fromEnvironment.cameras.first?.name == "testpattern")
        #expect(try configuration(["--name", "lab"]).cameras.first?.name == "lab")
    }

    @Test func unknownCameraFailsWithTheKnownNames() throws {
        let error = #expect(throws: StartupError.self) { try sources(["--camera", "kinect"]) }
        #expect(error?.description.contains("kinect") == true)
        #expect(error?.description.contains("emulated") == true)
        #expect(throws: StartupError.self) { try sources([], environment: ["CAMERA": "picamera2"]) }
    }

    @Test func missingFramesFolderFailsWithThePath() throws {
        let error = #expect(throws: StartupError.self) { try sources(["--frames-dir", "/nonexistent/frames"]) }
        #expect(error?.description.contains("/nonexistent/frames") == true)
    }

    @Test func flagsNameTheirKeys() {
        #expect(ExampleServer.flag(forKey: "maxFps") == "--max-fps")
        #expect(ExampleServer.flag(forKey: "idleTimeout") == "--idle-timeout")
        #expect(ExampleServer.flag(forKey: "port") == "--port")
    }
}

struct ConfigurationFileTests {
    static let threeCameras = """
        host: 0.0.0.0
        port: 8080
        logLevel: debug
        cameras:
          front: { driver: v4l2, device: /dev/video0, size: 1280x720 }
          garage: { driver: http, url: "http://user:pass@cam.local/mjpg/video.mjpg" }
          lab: { driver: testpattern, fps: 30, idleTimeout: 30, maxFps: 12.5, maxClients: 20 }
        """

    @Test func everyKeyIsReadAndTheCamerasKeepTheirOrder() throws {
        let server = try ConfigurationFile.parse(Self.threeCameras, file: "cams.yaml")
        #expect(server.host == "0.0.0.0")
        #expect(server.port == 8080)
        #expect(server.logLevel == .debug)
        #expect(server.cameras.map(\.name) == ["front", "garage", "lab"])
        #expect(server.cameras[0].driver == "v4l2")
        #expect(server.cameras[0].device == "/dev/video0")
        #expect(server.cameras[0].size == FrameSize(width: 1280, height: 720))
        #expect(server.cameras[1].url == "http://user:pass@cam.local/mjpg/video.mjpg")
        #expect(server.cameras[2].fps == 30)
        #expect(server.cameras[2].idleTimeout == 30)
        #expect(server.cameras[2].maxFps == 12.5)
        #expect(server.cameras[2].maxClients == 20)
        #expect(server.cameras[2].heartbeat == 5)
    }

    @Test(arguments: [
        (
            "cameras:\n  front: { driver: v4l2, devcie: /dev/video0 }\n",
            "cams.yaml: camera 'front': key 'devcie': unknown key"
        ),
        ("cameras:\n  front: { driver: v4l2, fps: fast }\n", "cams.yaml: camera 'front': key 'fps': must be a number"),
        (
            "cameras:\n  front: { driver: v4l2, size: big }\n",
            "cams.yaml: camera 'front': key 'size': must be WIDTHxHEIGHT"
        ),
        ("cameras:\n  front: { device: /dev/video0 }\n", "cams.yaml: camera 'front': key 'driver': is missing"),
        (
            "cameras:\n  front: { driver: v4l2, maxClients: 1.5 }\n",
            "cams.yaml: camera 'front': key 'maxClients': must be a whole number"
        ),
        ("prot: 5000\ncameras:\n  a: { driver: emulated }\n", "cams.yaml: key 'prot': unknown key"),
        ("port: 5000\n", "cams.yaml: key 'cameras': at least one camera"),
        ("cameras: [a, b]\n", "cams.yaml: cameras must be a mapping"),
        ("cameras:\n  a: { driver: emulated\n", "cams.yaml: is not valid YAML"),
        ("logLevel: loud\ncameras:\n  a: { driver: emulated }\n", "cams.yaml: key 'logLevel': must be trace"),
        ("", "cams.yaml: is empty"),
    ])
    func badFilesNameTheFileTheCameraAndTheKey(_ text: String, _ expected: String) {
        let error = #expect(throws: ConfigurationFileError.self) {
            try ConfigurationFile.parse(text, file: "cams.yaml")
        }
        #expect(error?.description.hasPrefix(expected) == true, "\(error?.description ?? "no error")")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func badValuesInTheFileNameTheKeyAndFlagsOverrideTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("framestream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.yaml").path
        try Self.threeCameras.write(toFile: good, atomically: true, encoding: .utf8)
        let overridden = try configuration(["--config", good, "--port", "0", "--host", "127.0.0.1", "--max-fps", "5"])
        #expect(overridden.port == 0)
        #expect(overridden.host == "127.0.0.1")
        #expect(overridden.cameras.map(\.maxFps) == [5, 5, 5])
        #expect(overridden.cameras[2].idleTimeout == 30)

        let bad = folder.appendingPathComponent("bad.yaml").path
        try "cameras:\n  lab: { driver: testpattern, quality: 0 }\n".write(
            toFile: bad,
            atomically: true,
            encoding: .utf8
        )
        let error = #expect(throws: StartupError.self) { try configuration(["--config", bad]) }
        #expect(error?.description == "\(bad): camera 'lab': key 'quality': must be from 1 to 100")
        // The flag's value replaces the file's bad one.
        #expect(try configuration(["--config", bad, "--quality", "50"]).cameras[0].quality == 50)

        let missing = #expect(throws: StartupError.self) {
            try configuration(["--config", folder.path + "/none.yaml"])
        }
        #expect(missing?.description.hasSuffix("none.yaml: no such file") == true)
    }

    @Test func theExampleInTheDocsIsValid() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/cameras.example.yaml").path
        let server = try ConfigurationFile.load(path: path)
        #expect(server.problem() == nil)
        #expect(server.cameras.map(\.name) == ["emulated", "pattern", "small"])
        let sources = try ExampleServer.makeSources(for: server, file: path, logger: quiet)
        #expect(sources.count == 3)
    }

    @Test func cameraNamesMustBeAddresses() throws {
        let server = try ConfigurationFile.parse("cameras:\n  'front door': { driver: emulated }\n", file: "c.yaml")
        let problem = try #require(server.problem())
        #expect(problem.camera == "front door")
        #expect(problem.problem.key == "name")
    }

    @Test func limitsAboveWhatTheOpenFileLimitAllowsAreReported() throws {
        let many = try configuration(["--max-clients", "5000"])
        #expect(DescriptorLimit.connections(many, descriptors: 300) == 236)
        let warnings = DescriptorLimit.warnings(many, descriptors: 300)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("camera 'emulated': --max-clients 5000") == true, "\(warnings)")
        #expect(warnings.first?.contains("236 connections") == true, "\(warnings)")
        #expect(warnings.first?.contains("open-file limit is 300") == true, "\(warnings)")
        #expect(DescriptorLimit.warnings(many, descriptors: 20_000).isEmpty)
        // The default 1000 viewers per camera do not fit in 1024 descriptors: that is said too.
        #expect(DescriptorLimit.warnings(try configuration([]), descriptors: 1024).count == 1)

        let connections = try configuration(["--max-connections", "50000"])
        let connectionWarnings = DescriptorLimit.warnings(connections, descriptors: 20_000)
        #expect(connectionWarnings.count == 1)
        #expect(connectionWarnings.first?.hasPrefix("--max-connections 50000 is more") == true, "\(connectionWarnings)")
        #expect(connectionWarnings.first?.contains("at most 19936") == true, "\(connectionWarnings)")
    }
}

/// `ExampleServer relay`'s flags.
@Suite struct RelayOptionsTests {
    @Test func eachOriginIsAnHTTPCameraNamedAsAtTheOrigin() throws {
        let relay = try Relay.parse([
            "--origin", "http://10.0.0.10:5000/cameras/front/stream", "--origin",
            "http://10.0.0.10:5000/cameras/back/stream",
            "--idle-timeout", "3",
        ])
        let server = try relay.server.serverConfiguration(
            environment: [:],
            cameras: try relay.cameras(credentials: "relay:pa:ss")
        )
        #expect(server.cameras.map(\.name) == ["front", "back"])
        #expect(server.cameras.allSatisfy { $0.driver == "http" && $0.idleTimeout == 3 })
        #expect(server.cameras[0].url == "http://relay:pa%3Ass@10.0.0.10:5000/cameras/front/stream")
        let single = try Relay.parse(["--origin", "http://origin/video_feed"])
        #expect(try single.cameras(credentials: nil).map(\.name) == ["camera"])
    }

    @Test(arguments: [
        ["--origin", "http://o/cameras/a/stream", "--origin", "http://p/cameras/a/stream"],
        [],
        ["--origin", "http://o/cameras/a/stream", "--camera", "v4l2"],
        ["--origin", "http://o/cameras/a/stream", "--config", "cameras.yaml"],
        ["--origin", "rtsp://o/stream"],
    ])
    func originsThatCannotBeRelayedAreRefused(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try Relay.parse(arguments) }
    }
}
