import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import InMemoryLogging
import Logging
import Testing

/// Requests meant to break the server: hostile query values, idle and slow connections by the hundred, HTTP/1.0.
@Suite(.timeLimit(.minutes(1)))
struct HostileRequestTests {
    static let hostileValues = [
        "0", "-1", "1e-300", "1e-19", "0.0009", "1e308", "1001", "nan", "NaN", "inf", "-inf", "infinity", "",
        String(repeating: "9", count: 10_000), "0." + String(repeating: "0", count: 5_000) + "1", "%zz", "%",
        "%00", "0x1p-70", "5%20", "5,5", "+",
    ]

    @Test func everyHostileQueryValueIsRefusedWith400AndTheServerKeepsStreaming() async throws {
        try await LiveServer.run { (server: LiveServer) async throws in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            for value in Self.hostileValues {
                for path in ["/video_feed?fps=", "/stream?fps=", "/?action=stream&fps=", "/?action="] {
                    let response = try await server.get(path + value)
                    #expect(response.status == 400, "\(path)\(value.prefix(20))")
                    let body = String(decoding: response.body, as: UTF8.self)
                    #expect(body.utf8.count < 200, "the reason is one short line: \(body.prefix(300))")
                }
            }
            // The viewer that was there all along still gets every new frame.
            server.camera.send(testImage(1, size: 500))
            #expect(try await viewer.nextPart()?.sequence == 1)
            // And valid rates still work, at both ends of the range.
            for fps in ["0.001", "1000", "2.5"] {
                #expect(try await server.openStream("/video_feed?fps=\(fps)").status == 200, "\(fps)")
            }
        }
    }

    @Test func aTinyRateGivenByTheLibraryUserStillGivesAnIntervalThatFits() {
        #expect(StreamOptions(maxFramesPerSecond: 1e-19).minimumFrameInterval == .seconds(1000))
        #expect(StreamOptions(maxFramesPerSecond: 1e308).minimumFrameInterval == .seconds(1.0 / 1000))
        #expect(StreamOptions(maxFramesPerSecond: -1).minimumFrameInterval == .seconds(1000))
        #expect(StreamOptions(maxFramesPerSecond: .nan).minimumFrameInterval == nil)
    }

    @Test func idleAndHalfSentConnectionsOverTheCapDoNotLockOutNewViewersOrCutStreams() async throws {
        let (logger, log) = recordingLogger()
        let limit = ConnectionLimit(maximumConnections: 20, logger: logger)
        try await LiveServer.run(connectionLimit: limit) { (server: LiveServer) async throws in
            var viewer = try await server.openStream()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(1, size: 500))
            #expect(try await viewer.nextPart()?.sequence == 1)
            // 60 connections that send nothing, or half a request head and then nothing: three times the cap.
            var flood: [RawConnection] = []
            for index in 0..<60 {
                let connection = try RawConnection(port: server.port)
                if index.isMultiple(of: 2) { connection.send("GET /status HTTP/1.1\r\nHost: x") }
                flood.append(connection)
            }
            // New requests are still answered, and new viewers still served...
            #expect(try await server.get("/status").status == 200)
            var second = try await server.openStream()
            #expect(second.status == 200)
            // ...and the stream that was running keeps running.
            server.camera.send(testImage(2, size: 500))
            #expect(try await viewer.nextPart()?.sequence == 2)
            // (The second viewer may first get the newest frame it came in on.)
            var sequence = try await second.nextPart()?.sequence
            if sequence == 1 { sequence = try await second.nextPart()?.sequence }
            #expect(sequence == 2)
            #expect(limit.openConnections <= 20)
            // The oldest idle connections were the ones closed: the first of the flood reads the end.
            #expect(try await flood[0].readUntilClosed().isEmpty)
            let warnings = log.entries.filter { $0.level == .warning }.map(\.message.description)
            #expect(warnings.contains { $0.hasPrefix("connection limit of 20 reached") }, "\(warnings)")
            for connection in flood { connection.close() }
        }
    }

    @Test func whenEveryConnectionIsBusyANewOneIsRefusedNotAStreamCut() async throws {
        let limit = ConnectionLimit(maximumConnections: 2, logger: quietLogger)
        try await LiveServer.run(connectionLimit: limit) { (server: LiveServer) async throws in
            let first = try RawConnection.viewer(port: server.port)
            let second = try RawConnection.viewer(port: server.port)
            _ = try await first.readHead()
            _ = try await second.readHead()
            await server.camera.waitForStarts(1)
            let third = try RawConnection(port: server.port)
            #expect(try await third.readUntilClosed().isEmpty)
            server.camera.send(testImage(3, size: 500))
            #expect(try await first.nextPart().sequence == 1)
            #expect(try await second.nextPart().sequence == 1)
        }
    }

    @Test func anHTTP10ViewerGetsAnHTTP10StreamWithoutChunks() async throws {
        try await LiveServer.run { (server: LiveServer) async throws in
            let connection = try RawConnection(port: server.port)
            connection.send("GET /video_feed HTTP/1.0\r\n\r\n")
            let head = try await connection.readHead().lowercased()
            #expect(head.hasPrefix("http/1.0 200"), "\(head)")
            #expect(!head.contains("transfer-encoding"), "\(head)")
            #expect(head.contains("connection: close"), "\(head)")
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(4, size: 500))
            // The body starts with the boundary itself, not a chunk-size line, and so does the part after it.
            let start = String(decoding: try await connection.readBody(count: 33), as: UTF8.self)
            #expect(start == "--frame\r\nContent-Type: image/jpeg", "\(start)")
        }
    }

    @Test(arguments: ["/status", "/snapshot.jpg", "/"])
    func anHTTP10RequestWithoutKeepAliveIsClosedAfterItsResponse(_ path: String) async throws {
        try await LiveServer.run(heartbeatInterval: .seconds(1)) { (server: LiveServer) async throws in
            if path == "/snapshot.jpg" {
                let snapshot = Task { try await server.get(path) }
                await server.camera.waitForStarts(1)
                server.camera.send(testImage(5, size: 500))
                _ = try await snapshot.value
            }
            let connection = try RawConnection(port: server.port)
            connection.send("GET \(path) HTTP/1.0\r\n\r\n")
            // Reading to the end returns: the server closes after the response.
            let response = String(decoding: try await connection.readUntilClosed(), as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.0 200"), "\(response.prefix(200))")
            #expect(response.lowercased().contains("connection: close"))
        }
    }

    @Test func anHTTP10RequestThatAsksForKeepAliveKeepsItsConnection() async throws {
        try await LiveServer.run { (server: LiveServer) async throws in
            let connection = try RawConnection(port: server.port)
            for _ in 0..<2 {
                connection.send("GET /status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let head = try await connection.readHead().lowercased()
                #expect(head.hasPrefix("http/1.0 200"), "\(head)")
                #expect(head.contains("connection: keep-alive"), "\(head)")
                let length = try #require(
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
                )
                _ = try await connection.readBody(count: length)
            }
        }
    }

    @Test func aStreamThatEndsIsLoggedAtInfoWithWhatItDelivered() async throws {
        let (logger, log) = recordingLogger()
        try await LiveServer.run(logger: logger) { (server: LiveServer) async throws in
            let viewer = try RawConnection.viewer(port: server.port)
            _ = try await viewer.readHead()
            await server.camera.waitForStarts(1)
            server.camera.send(testImage(6, size: 500))
            _ = try await viewer.nextPart()
            viewer.close()
            await server.camera.waitForStops(0)
            for _ in 0..<500
            where !log.entries.contains(where: { $0.message.description.hasPrefix("viewer disconnected") }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let line = try #require(log.entries.first { $0.message.description.hasPrefix("viewer disconnected") })
            #expect(line.level == .info)
            #expect(line.metadata["parts"] == "1")
            #expect(line.metadata["skipped"] == "0")
            #expect(line.metadata["duration"] != nil)
        }
    }
}
