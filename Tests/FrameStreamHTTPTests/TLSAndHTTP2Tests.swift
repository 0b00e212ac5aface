import AsyncHTTPClient
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// HTTPS, with HTTP/1.1 and HTTP/2 offered by ALPN: the same routes and fast path, the same delivery rules.
@Suite(.timeLimit(.minutes(1)))
struct TLSAndHTTP2Tests {
    static func client(_ version: HTTPClient.Configuration.HTTPVersion) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = version
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    @Test(arguments: [true, false])
    func streamAndSnapshotOverHTTPS(http2: Bool) async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(tls: try TestCertificate().serverConfiguration(), logger: logger) { server in
            let client = Self.client(http2 ? .automatic : .http1Only)
            do {
                let response = try await client.execute(
                    HTTPClientRequest(url: server.baseURL + "/video_feed"),
                    timeout: .seconds(30)
                )
                #expect(response.status == .ok)
                #expect(response.version == (http2 ? .http2 : .http1_1))
                var viewer = StreamViewer(response: response)
                await server.camera.waitForStarts(1)
                for marker in UInt8(1)...3 {
                    server.camera.send(testImage(marker))
                    let part = try #require(try await viewer.nextPart())
                    #expect(part.sequence == UInt64(marker))
                    #expect(part.body == testImage(marker).bytes)
                }
                let snapshot = try await client.execute(
                    HTTPClientRequest(url: server.baseURL + "/snapshot.jpg"),
                    timeout: .seconds(30)
                )
                #expect(snapshot.status == .ok)
                #expect(snapshot.headers.first(name: "content-type") == "image/jpeg")
                #expect(Array(buffer: try await snapshot.body.collect(upTo: 1 << 20)) == testImage(3).bytes)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            #expect(fastPathViewers(log) == ["manual"])
        }
    }

    @Test func tenStreamsShareOneHTTP2ConnectionEachAtFullRate() async throws {
        try await LiveServer.run(tls: try TestCertificate().serverConfiguration()) { server in
            var viewers = [try await HTTP2Viewer.open(port: server.port, tls: true)]
            for index in 1..<10 {
                viewers.append(
                    try await viewers[0].openStream(path: index.isMultiple(of: 2) ? "/stream" : "/video_feed")
                )
            }
            #expect(viewers.allSatisfy { $0.status == 200 && $0.connection === viewers[0].connection })
            await server.camera.waitForStarts(1)
            #expect(server.broadcaster.status.subscribers == 1)
            for marker in UInt8(1)...20 {
                server.camera.send(testImage(marker))
                for index in viewers.indices {
                    #expect(try await viewers[index].nextPart()?.sequence == UInt64(marker), "stream \(index)")
                }
            }
            #expect(server.endpoints.status().clients == 10)
            await viewers[0].close()
        }
    }

    @Test func aSlowHTTP2StreamStaysAboutOneFrameBehindWhileTheOthersOnItsConnectionKeepFullRate() async throws {
        try await LiveServer.run(tls: try TestCertificate().serverConfiguration()) { server in
            // The protocol's default stream window (64 KiB), about one and a half frames.
            var reading = try await HTTP2Viewer.open(port: server.port, tls: true, streamWindow: 65_535)
            var slow = try await reading.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1))
            #expect(try await reading.nextPart()?.sequence == 1)
            #expect(try await slow.nextPart()?.sequence == 1)
            try await slow.setStreamReading(false)
            for marker in UInt8(2)...61 {
                server.camera.send(testImage(marker))
                #expect(try await reading.nextPart()?.sequence == UInt64(marker))
            }
            try await slow.setStreamReading(true)
            let queued = try await slow.sequences(until: 61, atMost: 10)
            #expect(queued.count <= 4, "the slow HTTP/2 stream got a backlog: \(queued)")
            #expect(queued.last == 61)
            server.camera.send(testImage(62))
            #expect(try await slow.nextPart()?.sequence == 62)
            #expect(try await reading.nextPart()?.sequence == 62)
            await reading.close()
        }
    }

    @Test func aStalledHTTP2StreamIsDroppedWithoutClosingTheOthersOnItsConnection() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(
            stalledClientTimeout: .milliseconds(300),
            tls: try TestCertificate().serverConfiguration(),
            logger: logger
        ) { server in
            var reading = try await HTTP2Viewer.open(port: server.port, tls: true, streamWindow: 65_535)
            var stalled = try await reading.openStream()
            await server.camera.waitForStarts(1)
            try await stalled.setStreamReading(false)
            var marker: UInt8 = 0
            while !log.entries.contains(where: { $0.message.description.contains("dropped: it accepted no data") }) {
                marker &+= 1
                server.camera.send(testImage(marker))
                #expect(try await reading.nextPart() != nil)
                try await Task.sleep(for: .milliseconds(20))
            }
            // The dropped stream ends once what it was sent is read; the other goes on, on the same connection.
            try await stalled.setStreamReading(true)
            var left = 0
            while try await stalled.nextPart() != nil { left += 1 }
            #expect(left <= 3)
            server.camera.send(testImage(200))
            #expect(try await reading.nextPart()?.body == testImage(200).bytes)
            #expect(reading.connection.isActive)
            await reading.close()
        }
    }
}
