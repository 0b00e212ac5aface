import Foundation
import FrameStream
import FrameStreamTesting
import Testing

/// `--rotate` and `--flip` with the V4L2 driver, end to end through the real libv4l2 against the stand-in device:
/// Motion-JPEG is turned losslessly on the capture thread, YUYV in the encoder.
@Suite(.timeLimit(.minutes(1)))
struct V4L2OrientationTests {
    @Test func motionJPEGIsTurnedLosslesslyWithTheFlipFirst() async throws {
        let fixture = [UInt8](FileManager.default.contents(atPath: V4L2CameraTests.fixture)!)
        // Flipped horizontally, then upside down: the same as flipped vertically.
        let expected = try JPEGTransformer(orientation: FrameOrientation(flip: .vertical)).transform(fixture)
        try await V4L2CameraTests.withServer(
            ["--rotate", "180", "--flip", "horizontal"],
            standIn: ["FORMATS": "MJPG,YUYV", "JPEG": V4L2CameraTests.fixture]
        ) { server in
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            #expect(snapshot.body == expected)
            #expect(server.events().contains("s_fmt MJPG 640x480"))
        }
    }

    /// With `bottomUp`, the camera's left edge (the dark end of the stand-in's ramp) ends up at the bottom.
    @Test(arguments: [
        (["--rotate", "90"], false), (["--rotate", "270"], true), (["--rotate", "90", "--flip", "horizontal"], true),
    ])
    func yuyvIsTurnedBeforeItIsEncoded(_ arguments: [String], bottomUp: Bool) async throws {
        let luma = { (_: Int, y: Int) in (bottomUp ? 639 - y : y) * 255 / 640 }
        try await V4L2CameraTests.withServer(
            arguments + ["--size", "640x480", "--quality", "90"],
            standIn: ["FORMATS": "YUYV", "PAD": "64"]
        ) { server in
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            let decoded = try DecodedJPEG(snapshot.body)
            // A quarter turn: the camera's 640x480 is served as 480x640.
            #expect(decoded.width == 480 && decoded.height == 640)
            // The stand-in's ramp runs left to right in the camera's picture: top to bottom (or back) once turned.
            #expect(decoded.largestDifference(from: luma) <= 6, "\(arguments)")
        }
    }
}
