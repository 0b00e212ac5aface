import Testing

@testable import FrameStreamHTTP

struct CameraRequestTargetTests {
    typealias Target = CameraRequestTarget

    @Test(
        arguments: [
            ("/", nil, Target(camera: nil, kind: .other)),
            ("/", "stream", Target(camera: "front", kind: .stream)),
            ("/", "snapshot_1", Target(camera: "back", kind: .snapshot)),
            ("/", "stream_7", Target(camera: nil, kind: .stream)),
            ("/", "nonsense", Target(camera: nil, kind: .other)),
            ("/status", nil, Target(camera: nil, kind: .other)),
            ("/video_feed", nil, Target(camera: "front", kind: .stream)),
            ("/stream", nil, Target(camera: "front", kind: .stream)),
            ("/snapshot.jpg", nil, Target(camera: "front", kind: .snapshot)),
            ("/snapshot", nil, Target(camera: "front", kind: .snapshot)),
            ("/cameras/back", nil, Target(camera: "back", kind: .other)),
            ("/cameras/back/", "stream", Target(camera: "back", kind: .stream)),
            ("/cameras/back/video_feed", nil, Target(camera: "back", kind: .stream)),
            ("/cameras/back//snapshot.jpg", nil, Target(camera: "back", kind: .snapshot)),
            ("/cameras/back/link", nil, Target(camera: "back", kind: .other)),
            ("/cameras/back/status", nil, Target(camera: "back", kind: .other)),
            ("/cameras/back/controls", nil, Target(camera: "back", kind: .other)),
            // The first camera's controls at the root are its own: a user who may not watch it may not touch them.
            ("/controls", nil, Target(camera: "front", kind: .other)),
            ("/cameras/nope/stream", nil, Target(camera: nil, kind: .stream)),
            ("/other/stream", nil, Target(camera: nil, kind: .other)),
        ] as [(String, String?, Target)]
    )
    func requestsAreAboutTheRightCamera(_ path: String, _ action: String?, _ expected: Target) {
        #expect(Target(path: path, action: action, cameras: ["front", "back"]) == expected)
    }

    @Test func withOneCameraThePageAndStatusAreAboutIt() {
        #expect(Target(path: "/", action: nil, cameras: ["only"]) == Target(camera: "only", kind: .other))
        #expect(Target(path: "/status", action: nil, cameras: ["only"]) == Target(camera: "only", kind: .other))
    }
}
