import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Testing

/// Placeholders over HTTP: stream parts marked `X-Placeholder`, and the snapshot's `503` with the picture.
@Suite struct PlaceholderStreamTests {
    @Test(arguments: [true, false])
    func aViewerSeesPlaceholdersUntilFramesCome(fastPath: Bool) async throws {
        try await LiveServer.run(placeholders: .init(), connectionHandlers: fastPath) { server in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            await server.clock.waitForSleepers(1)  // the placeholders' timer
            server.clock.advance(by: .seconds(1))
            let placeholder = try #require(try await viewer.nextPart())
            #expect(placeholder.headers["x-placeholder"] == "starting")
            #expect(placeholder.sequence == nil)
            let picture = try DecodedJPEG(placeholder.body)
            #expect(picture.width == 640 && picture.height == 480)
            // A new viewer gets the current placeholder at once.
            var late = try await server.openStream()
            #expect(try await late.nextPart()?.headers["x-placeholder"] == "starting")
            server.camera.send(testImage(1))
            let frame = try #require(try await viewer.nextPart())
            #expect(frame.sequence == 1)
            #expect(frame.headers["x-placeholder"] == nil)
            #expect(try await late.nextPart()?.sequence == 1)
        }
    }

    @Test func aSnapshotWithoutAPictureIsThePlaceholderWith503() async throws {
        try await LiveServer.run(
            placeholders: .init(),
            endpoints: .init(snapshotTimeout: .seconds(3))
        ) { server in
            // A stream keeps the camera on; it makes no frame.
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            await server.clock.waitForSleepers(1)
            server.clock.advance(by: .seconds(1))
            _ = try await viewer.nextPart()
            for query in ["", "?placeholder=0"] {
                let snapshot = Task { try await server.get("/snapshot.jpg" + query) }
                // The snapshot's timeout and the placeholders' timer.
                await server.clock.waitForSleepers(2)
                server.clock.advance(by: .seconds(3))
                let response = try await snapshot.value
                #expect(response.status == 503)
                #expect(response.headers["retry-after"] == "1")
                if query.isEmpty {
                    #expect(response.headers["content-type"] == "image/jpeg")
                    #expect(response.headers["x-placeholder"] == "starting")
                    #expect(try DecodedJPEG(response.body).width == 640)
                } else {
                    #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true)
                    #expect(response.headers["x-placeholder"] == nil)
                }
            }
        }
    }
}
