import ArgumentParser
import Foundation
import FrameStream
import Testing

@testable import ExampleServer

/// `rotate:` and `flip:` in the configuration file, and `--rotate`, `--flip` on the command line.
struct ExampleServerOrientationOptionsTests {
    @Test func rotateAndFlipAreReadFromTheFileAndTheFlagsOverrideThem() throws {
        let server = try ConfigurationFile.parse(
            """
            cameras:
              ceiling: { driver: testpattern, rotate: 180 }
              mirror: { driver: emulated, rotate: 90, flip: Horizontal }
              plain: { driver: emulated }
            """,
            file: "cams.yaml"
        )
        #expect(server.problem() == nil)
        #expect(server.cameras[0].orientation == FrameOrientation(rotation: .clockwise180))
        #expect(server.cameras[1].orientation == FrameOrientation(rotation: .clockwise90, flip: .horizontal))
        #expect(server.cameras[2].orientation == .upright)

        let flags = try ExampleServer.parse(["--camera", "testpattern", "--rotate", "270", "--flip", "vertical"])
            .serverConfiguration(environment: [:])
        #expect(flags.cameras[0].orientation == FrameOrientation(rotation: .clockwise270, flip: .vertical))
        // 0 and none turn a file's orientation off from the command line.
        let off = try ExampleServer.parse(["--rotate", "0", "--flip", "none"]).serverConfiguration(environment: [:])
        #expect(off.cameras[0].orientation == .upright)
        #expect(ExampleServer.flag(forKey: "rotate") == "--rotate")
        #expect(ExampleServer.flag(forKey: "flip") == "--flip")
    }

    @Test(arguments: [
        (["--rotate", "45"], "--rotate must be 0, 90, 180 or 270 (degrees clockwise), not 45"),
        (["--rotate=-180"], "--rotate must be 0, 90, 180 or 270 (degrees clockwise), not -180"),
        (["--rotate", "right"], "'--rotate <rotate>'"),
        (["--flip", "diagonal"], "--flip must be horizontal, vertical or none, not 'diagonal'"),
    ])
    func aBadFlagFailsAtStartNamingIt(_ arguments: [String], _ expected: String) {
        let error = #expect(throws: (any Error).self) { try ExampleServer.parse(arguments) }
        let message = error.map { ExampleServer.message(for: $0) } ?? ""
        #expect(message.contains(expected), "\(arguments): \(message)")
        #expect(!message.contains("\n"), "one line: \(message)")
    }

    @Test(arguments: [
        ("rotate: 45", "key 'rotate': must be 0, 90, 180 or 270 (degrees clockwise), not 45"),
        ("rotate: 90.5", "key 'rotate': must be a whole number, not '90.5'"),
        ("flip: sideways", "key 'flip': must be horizontal, vertical or none, not 'sideways'"),
    ])
    func aBadValueInTheFileIsOneLineNamingTheKey(_ entry: String, _ expected: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orientation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("cams.yaml").path
        let text = "cameras:\n  front: { driver: testpattern, \(entry) }\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let command = try ExampleServer.parse(["--config", path])
        let error = #expect(throws: StartupError.self) { try command.serverConfiguration(environment: [:]) }
        let message = error?.description ?? ""
        #expect(message == "\(path): camera 'front': \(expected)", "\(message)")
    }
}
