import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ExampleServer relay`: an origin and a relay as processes, the relay's frames and health as viewers and
/// balancers see them.
@Suite(.timeLimit(.minutes(2)))
struct RelayTests {
    static var server: String { StandInServer.products + "/ExampleServer" }

    /// The `X-Frame-Sequence` of each of the first `count` parts of a stream.
    static func sequences(_ url: String, count: Int) async throws -> [UInt64] {
        try await withNonRetryingClient { client in
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(20))
            #expect(response.status == .ok)
            var text = ""
            var numbers: [UInt64] = []
            for try await chunk in response.body {
                // The JPEG bytes decode to nonsense; the part headers are ASCII.
                text += String(decoding: chunk.readableBytesView, as: UTF8.self)
                numbers = text.components(separatedBy: "X-Frame-Sequence: ").dropFirst().compactMap { part in
                    part.firstRange(of: "\r\n").flatMap { UInt64(part[..<$0.lowerBound]) }
                }
                if numbers.count >= count { break }
            }
            return Array(numbers.prefix(count))
        }
    }

    /// `/healthz`'s status; `nil` if the server does not answer.
    static func health(_ port: Int) async -> Int? {
        try? await SystemdTests.get("http://127.0.0.1:\(port)/healthz").status
    }

    @Test func aRelayServesTheOriginsFramesUnderTheirNumbersAndItsHealthFollowsTheOrigin() async throws {
        let origin = try SpawnedServer(
            [Self.server, "--camera", "testpattern", "--name", "front", "--fps", "20", "--port", "0"],
            environment: [:]
        )
        let originPort = try await origin.port()
        let relay = try SpawnedServer(
            [
                Self.server, "relay", "--origin", "http://127.0.0.1:\(originPort)/cameras/front/stream", "--port", "0",
            ],
            environment: [:]
        )
        let relayPort = try await relay.port()
        #expect(await Self.health(relayPort) == 200)
        // The origin's camera runs for a direct viewer first, so that its numbers are ahead of any the relay
        // would count itself.
        let direct = try await Self.sequences("http://127.0.0.1:\(originPort)/cameras/front/stream", count: 10)
        let relayed = try await Self.sequences("http://127.0.0.1:\(relayPort)/cameras/front/stream", count: 5)
        #expect(zip(relayed, relayed.dropFirst()).allSatisfy { $0 < $1 }, "\(relayed)")
        #expect(relayed.first.map { $0 >= direct.last! } == true, "origin \(direct), relay \(relayed)")

        #expect(try await origin.stop() == 0)
        // The relay still had the origin's stream (its idle timeout), which now breaks: unhealthy.
        var status = await Self.health(relayPort)
        for _ in 0..<100 where status != 503 {
            try await Task.sleep(for: .milliseconds(100))
            status = await Self.health(relayPort)
        }
        #expect(status == 503)
        #expect(try await relay.stop() == 0)
    }

    @Test func anIdleRelayWhoseOriginDoesNotAnswerIsUnhealthy() async throws {
        // A port nothing listens on: bound, then closed.
        let probe = try SpawnedServer([Self.server, "--port", "0"], environment: [:])
        let closedPort = try await probe.port()
        #expect(try await probe.stop() == 0)
        let relay = try SpawnedServer(
            [Self.server, "relay", "--origin", "http://127.0.0.1:\(closedPort)/cameras/cam/stream", "--port", "0"],
            environment: [:]
        )
        let relayPort = try await relay.port()
        let answer = try await SystemdTests.get("http://127.0.0.1:\(relayPort)/healthz")
        #expect(answer.status == 503)
        #expect(answer.body.contains("does not answer"))
        // The check is what a container's health check runs: it fails too.
        let check = try SpawnedServer(
            [Self.server, "relay", "--check", "--origin", "http://x/", "--port", "\(relayPort)"],
            environment: [:]
        )
        #expect(try await check.waitForExit() == 1)
        #expect(try await relay.stop() == 0)
    }
}
