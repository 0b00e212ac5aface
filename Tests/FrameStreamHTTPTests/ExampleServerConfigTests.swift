import Foundation
import FrameStreamTesting
import Testing

/// ExampleServer started as a process with `--config FILE`, the way people run it.
@Suite(.timeLimit(.minutes(1)))
struct ExampleServerConfigTests {
    static func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "framestream-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aThreeCameraConfigServesThreeDistinctStreamsAndTheGrid() async throws {
        let config = try Self.writeConfig(
            """
            host: 127.0.0.1
            port: 5000
            cameras:
              front: { driver: testpattern, fps: 10, size: 320x240 }
              garage: { driver: emulated }
              lab: { driver: testpattern, fps: 30, size: 160x120, idleTimeout: 30 }
            """
        )
        defer { try? FileManager.default.removeItem(atPath: config) }
        let server = try StandInServer(camera: ["--config", config])
        do {
            let page = String(decoding: try await server.get("/").body, as: UTF8.self)
            for name in ["front", "garage", "lab"] {
                #expect(page.contains(#"<img src="cameras/\#(name)/video_feed""#))
            }
            let status = try JSONSerialization.jsonObject(with: Data(try await server.get("/status").body))
            let cameras = (status as? [String: Any])?["cameras"] as? [String: Any]
            #expect(cameras?.keys.sorted() == ["front", "garage", "lab"])

            // Each camera's own stream, told apart by its frame size; by name, by number, and the first at the
            // single-camera address.
            let expected: [(String, Int)] = [
                ("/cameras/front/stream", 320), ("/cameras/garage/video_feed", 640), ("/cameras/lab/stream", 160),
                ("/?action=stream_2", 160), ("/?action=stream_1", 640), ("/video_feed", 320),
            ]
            for (path, width) in expected {
                var viewer = try await StreamViewer.open(server.baseURL + path, client: server.client)
                #expect(viewer.status == 200, "\(path)")
                let part = try #require(try await viewer.nextPart(), "\(path)")
                #expect(try DecodedJPEG(part.body).width == width, "\(path)")
            }
            let snapshot = try await server.get("/cameras/lab/snapshot.jpg")
            #expect(try DecodedJPEG(snapshot.body).width == 160)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test(arguments: [
        ("cameras:\n  front: { driver: testpattern, fsp: 10 }\n", "camera 'front': key 'fsp': unknown key"),
        (
            "cameras:\n  front: { driver: testpattern, maxFps: 0 }\n",
            "camera 'front': key 'maxFps': must be from 0.001 to 1000"
        ),
        ("cameras:\n  front: { driver: kinect }\n", "camera 'front': unknown camera driver 'kinect'"),
    ])
    func aBadConfigStopsTheServerWithOneLineThatNamesTheKey(_ text: String, _ expected: String) throws {
        let config = try Self.writeConfig(text)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StandInServer.products + "/ExampleServer")
        process.arguments = ["--config", config, "--port", "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(output.hasPrefix("error: \(config): \(expected)"), "\(output)")
        #expect(output.filter { $0 == "\n" }.count == 1, "not one line: \(output)")
    }
}
