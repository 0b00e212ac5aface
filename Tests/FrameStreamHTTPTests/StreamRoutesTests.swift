import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import InMemoryLogging
import Logging
import Testing

/// Refuses requests without `Authorization: Bearer let-me-in`: an application's own authentication.
struct RequireToken<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.headers[.authorization] == "Bearer let-me-in" else { return Response(status: .unauthorized) }
        return try await next(request, context)
    }
}

/// Says that it encodes every body (`Content-Encoding: identity`): the stream then goes through the response body,
/// the router path, with the connection handler guarding it.
struct IdentityEncoding<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentEncoding] = "identity"
        return response
    }
}

/// The viewers that the fast path served, by camera, from what the endpoints logged.
func fastPathViewers(_ log: InMemoryLogHandler) -> [String] {
    log.entries.filter { $0.message.description == "viewer connected" && $0.metadata["delivery"] == "fast path" }
        .map { $0.metadata["camera"]?.description ?? "?" }
}

@Suite(.timeLimit(.minutes(1)))
struct StreamRoutesTests {
    @Test func middlewareInFrontOfAMountedCameraRefusesUnauthenticatedStreamsAndSnapshots() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(logger: logger) { router, endpoints in
            router.group("cams").add(middleware: RequireToken()).addRoutes(endpoints[0].routes(), atPath: "front")
        } _: { (server: LiveServer) async throws in
            for path in [
                "/cams/front/stream", "/cams/front/video_feed", "/cams/front/snapshot.jpg",
                "/cams/front/?action=stream", "/cams/front/status",
            ] {
                #expect(try await server.get(path).status == 401, "\(path)")
            }
            // Nothing answers where the application mounted nothing.
            for path in ["/video_feed", "/stream", "/?action=stream", "/snapshot.jpg"] {
                #expect(try await server.get(path).status == 404, "\(path)")
            }
            #expect(server.camera.starts == 0)

            var viewer = try await server.openStream(
                "/cams/front/stream",
                headers: [("Authorization", "Bearer let-me-in")]
            )
            #expect(viewer.status == 200)
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 500))
            #expect(try await viewer.nextPart()?.sequence == 1)
            #expect(fastPathViewers(log) == ["manual"])
        }
    }

    @Test func theApplicationsOwnRoutesAreNotTakenOver() async throws {
        try await LiveServer.run { router, endpoints in
            router.get("/stream") { _, _ in "the application's own stream page" }
            router.get("/") { _, _ in "the application's own index" }
            router.addRoutes(endpoints[0].routes(), atPath: "/camera")
        } _: { (server: LiveServer) async throws in
            #expect(try await server.text("/stream") == "the application's own stream page")
            #expect(try await server.text("/") == "the application's own index")
            #expect(try await server.text("/?action=stream") == "the application's own index")
            #expect(try await server.get("/video_feed").status == 404)
            #expect(server.camera.starts == 0)
        }
    }

    @Test func twoCamerasMountedUnderPrefixesBothStreamOnTheFastPath() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(cameras: 2, logger: logger) { router, endpoints in
            router.group("cams").addRoutes(endpoints[0].routes(), atPath: "front")
            router.addRoutes(endpoints[1].routes(), atPath: "/cams/back")
        } _: { (server: LiveServer) async throws in
            var front = try await server.openStream("/cams/front/stream")
            var back = try await server.openStream("/cams/back/video_feed")
            await server.cameras[0].waitForStarts(1)
            await server.cameras[1].waitForStarts(1)
            for marker in UInt8(1)...3 {
                server.cameras[0].send(testImage(marker, size: 300))
                server.cameras[1].send(testImage(100 + marker, size: 300))
                #expect(try await front.nextPart()?.body[2] == marker)
                #expect(try await back.nextPart()?.body[2] == 100 + marker)
            }
            #expect(fastPathViewers(log).sorted() == ["manual", "manual-1"])
            // Each page links to its own camera, relative to where it is.
            let page = try await server.text("/cams/back/")
            #expect(page.contains(#"<img src="video_feed""#))
            let pageWithoutSlash = try await server.text("/cams/back")
            #expect(pageWithoutSlash.contains(#"<img src="back/video_feed""#))
        }
    }

    @Test func withoutThePageTheApplicationServesItsOwn() async throws {
        try await LiveServer.run(endpoints: .init(includesPage: false)) { router, endpoints in
            router.addRoutes(endpoints[0].routes(), atPath: "/cam")
            router.get("/cam") { _, _ in "my page" }
        } _: { (server: LiveServer) async throws in
            #expect(try await server.text("/cam") == "my page")
            #expect(try await server.get("/cam/status").status == 200)
        }
    }

    @Test func theCameraIndexServesEveryCameraAndTheSingleCameraAddresses() async throws {
        try await LiveServer.run(cameras: 3) { router, endpoints in
            let index = MJPEGCameraIndex(
                cameras: endpoints.enumerated().map {
                    MJPEGCameraIndex.Camera(name: ["front", "garage", "lab"][$0], endpoints: $1)
                }
            )
            router.addRoutes(index.routes())
        } _: { (server: LiveServer) async throws in
            let page = try await server.text("/")
            for name in ["front", "garage", "lab"] {
                #expect(page.contains(#"<img src="cameras/\#(name)/video_feed""#))
            }
            // The `<img>` shows the stream without JavaScript; the one script only reconnects a stream that ended.
            #expect(page.components(separatedBy: "<script").count == 2)
            #expect(page.contains("\"reconnect=\""))
            let status = try JSONDecoder().decode(
                CameraIndexStatus.self,
                from: Data(try await server.get("/status").body)
            )
            #expect(status.cameras.keys.sorted() == ["front", "garage", "lab"])
            #expect(status.cameras["garage"]?.camera.driver == "manual-1")

            // Each address reaches its own camera: by name, by mjpg-streamer's number, and the first one at the old
            // single-camera addresses.
            let addresses: [(String, Int)] = [
                ("/cameras/front/stream", 0), ("/cameras/garage/video_feed", 1), ("/cameras/lab/stream", 2),
                ("/?action=stream_2", 2), ("/?action=stream_1", 1), ("/?action=stream", 0), ("/video_feed", 0),
                ("/stream", 0),
            ]
            for (round, (path, camera)) in addresses.enumerated() {
                var viewer = try await server.openStream(path)
                await server.cameras[camera].waitForStarts(1)
                // Markers tell the cameras apart: camera k's are k + 1 modulo 3.
                for other in 0..<3 { server.cameras[other].send(testImage(UInt8(round * 3 + other + 1), size: 200)) }
                let part = try #require(try await viewer.nextPart(), "\(path)")
                #expect(Int(part.body[2] - 1) % 3 == camera, "\(path) did not show camera \(camera)")
            }
            #expect(try await server.get("/?action=stream_3").status == 400)
            #expect(try await server.get("/?action=snapshot_9").status == 400)
            #expect(try await server.get("/cameras/garage/status").status == 200)
        }
    }
}
