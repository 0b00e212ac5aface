import Foundation
import FrameStream
import FrameStreamTesting
import Testing

@testable import FrameStreamHTTP

@Suite(.timeLimit(.minutes(1)))
struct SnapshotAndStatusTests {
    @Test(arguments: ["/snapshot.jpg", "/snapshot", "/?action=snapshot"])
    func snapshotStartsTheCameraAndReturnsAFreshJPEG(_ path: String) async throws {
        try await LiveServer.run { server in
            let request = Task { try await server.get(path) }
            await server.camera.waitForStarts(1)
            let image = testImage(9, size: 2000)
            server.camera.send(image)
            let response = try await request.value
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "image/jpeg")
            #expect(response.headers["cache-control"] == "no-cache, no-store, must-revalidate")
            #expect(response.headers["x-frame-sequence"] == "1")
            #expect(response.body == image.bytes)
        }
    }

    @Test func snapshotGets503WhenTheCameraSendsNothingInTime() async throws {
        try await LiveServer.run(endpoints: .init(snapshotTimeout: .seconds(5))) { server in
            let request = Task { try await server.get("/snapshot.jpg") }
            await server.camera.waitForStarts(1)
            await server.clock.waitForSleepers(1)  // the snapshot's timeout
            server.clock.advance(by: .seconds(5))
            let response = try await request.value
            #expect(response.status == 503)
            #expect(response.headers["retry-after"] == "1")
            #expect(String(decoding: response.body, as: UTF8.self).contains("camera 'manual' sent no frame within"))
        }
    }

    @Test func statusReportsTheCameraAndTheViewers() async throws {
        try await LiveServer.run(endpoints: .init(maxClients: 7, maxFramesPerSecond: 12)) { server in
            let idle = try await server.get("/status")
            #expect(idle.status == 200)
            #expect(idle.headers["content-type"] == "application/json")
            var status = try JSONDecoder().decode(ServerStatus.self, from: Data(idle.body))
            #expect(status.camera.driver == "manual")
            #expect(status.camera.running == false)
            #expect(status.clients == 0)
            #expect(status.maxClients == 7)
            #expect(status.maxFps == 12)
            #expect(status.camera.idleTimeout == 10)

            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 100))
            _ = try await viewer.nextPart()
            status = try JSONDecoder().decode(ServerStatus.self, from: Data(try await server.get("/status").body))
            #expect(status.camera.running)
            #expect(status.camera.phase == .streaming)
            #expect(status.camera.frames == 1)
            #expect(status.camera.lastFrameSequence == 1)
            #expect(status.clients == 1)
            #expect(status.camera.subscribers == 1)
            #expect(status.uptime > 0)
        }
    }

    @Test func pageShowsTheStreamWithoutJavaScript() async throws {
        try await LiveServer.run { server in
            let page = try await server.get("/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            let html = String(decoding: page.body, as: UTF8.self)
            // Relative, so that the page works wherever the routes are mounted.
            #expect(html.contains(#"<img src="video_feed""#))
            #expect(html.contains(#"href="status""#))
            // The `<img>` shows the stream without JavaScript; the one script only reconnects a stream that ended.
            #expect(html.components(separatedBy: "<script").count == 2)
            #expect(html.contains(CameraPage.reconnectScript))
            #expect(server.camera.starts == 0)
        }
    }
}

struct MJPEGPartEncoderTests {
    @Test func timestampHasSixDecimals() {
        #expect(MJPEGPartEncoder.unixSeconds(Date(timeIntervalSince1970: 1_700_000_000.000_042)) == "1700000000.000042")
        #expect(MJPEGPartEncoder.unixSeconds(Date(timeIntervalSince1970: 5)) == "5.000000")
    }
}

struct MJPEGActionTests {
    @Test(arguments: [
        ("stream", MJPEGAction.stream(nil)), ("snapshot", .snapshot(nil)), ("stream_0", .stream(0)),
        ("snapshot_12", .snapshot(12)), ("stream_", .invalid), ("stream_-1", .invalid), ("stream_1e3", .invalid),
        ("stream_99999", .invalid), ("streams", .invalid), ("", .invalid), ("stream_٣", .invalid),
    ])
    func actionsFollowMjpgStreamer(_ value: String, _ expected: MJPEGAction) {
        #expect(MJPEGAction(query: value) == expected)
    }

    @Test func noActionIsThePage() {
        #expect(MJPEGAction(query: nil) == nil)
    }
}

struct CameraPageTests {
    @Test(arguments: [("/", ""), ("/cams/front/", ""), ("/cams/front", "front/"), ("", ""), ("/front", "front/")])
    func linksAreRelativeToWhereThePageIs(_ path: String, _ base: String) {
        #expect(CameraPage.base(of: path) == base)
    }

    @Test func titlesAreEscaped() {
        let html = CameraPage.html(title: #"<script>"x" & 'y'"#, base: "")
        #expect(!html.contains(#"<script>"x""#))
        #expect(html.contains("&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"))
    }
}
