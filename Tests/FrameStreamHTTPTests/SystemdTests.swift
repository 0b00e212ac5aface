import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The server under systemd, with systemd played by the test: readiness, status, watchdog and stopping datagrams
/// on a `NOTIFY_SOCKET`, a listening socket passed as descriptor 3 (`LISTEN_FDS`), and `--check`.
@Suite(.timeLimit(.minutes(2)))
struct SystemdTests {
    static var server: String { StandInServer.products + "/ExampleServer" }

    /// A datagram socket the test listens on, as systemd does: a path, or an abstract name.
    final class NotifySocket: Sendable {
        let descriptor: Int32
        /// `NOTIFY_SOCKET`'s value.
        let address: String

        init(abstract: Bool) throws {
            let name = "framestream-notify-\(UUID().uuidString.prefix(8))"
            address = abstract ? "@" + name : NSTemporaryDirectory() + name
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var socketAddress = sockaddr_un()
            socketAddress.sun_family = sa_family_t(AF_UNIX)
            var path = Array(address.utf8)
            if abstract { path[0] = 0 }
            withUnsafeMutableBytes(of: &socketAddress.sun_path) { bytes in
                for (index, byte) in path.enumerated() { bytes[index] = byte }
            }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (abstract ? 0 : 1))
            let bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard bound == 0 else { throw StandInFailure("cannot bind \(address): errno \(errno)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        /// The messages received within `seconds`, or until one satisfies `until`; read on a thread of its own, so
        /// that the tests' concurrency pool stays free.
        func receive(
            for seconds: Double,
            until: @escaping @Sendable (String) -> Bool = { _ in false }
        ) async -> [String] {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: self.receiveNow(for: seconds, until: until))
                }
            }
        }

        private func receiveNow(for seconds: Double, until: (String) -> Bool) -> [String] {
            var messages: [String] = []
            let end = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < end {
                let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard got > 0 else { continue }
                let message = String(decoding: buffer[0..<got], as: UTF8.self)
                messages.append(message)
                if until(message) { break }
            }
            return messages
        }

        deinit {
            close(descriptor)
            if !address.hasPrefix("@") { unlink(address) }
        }
    }

    @Test(arguments: [false, true])
    func readyStatusWatchdogAndStoppingArrive(abstractSocket: Bool) async throws {
        let notify = try NotifySocket(abstract: abstractSocket)
        let folder = NSTemporaryDirectory() + "framestream-systemd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A recorded camera must stream before the server is ready.
        let server = try SpawnedServer(
            [Self.server, "--port", "0", "--fps", "10", "--record", folder],
            environment: ["NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "400000"]
        )
        let first = await notify.receive(for: 20) { $0.contains("READY=1") }
        let ready = try #require(first.last, "no message at all: \(server.output)")
        #expect(ready.contains("READY=1"), "\(first)")
        #expect(ready.contains("STATUS=0 viewers \u{00B7} emulated: streaming"), "\(ready)")
        // Ready means recording: the camera was streaming already.
        let port = try await server.port()
        let status = try await Self.get("http://127.0.0.1:\(port)/status")
        #expect(status.body.contains("\"phase\" : \"streaming\""))
        // Pings twice per watchdog interval, with the status.
        let later = await notify.receive(for: 1.5)
        #expect(later.filter { $0.contains("WATCHDOG=1") }.count >= 3, "\(later)")
        #expect(later.allSatisfy { $0.contains("STATUS=") && !$0.contains("READY=1") })
        kill(server.pid, SIGTERM)
        let last = await notify.receive(for: 20) { $0.contains("STOPPING=1") }
        #expect(last.contains { $0.contains("STOPPING=1") }, "\(last)")
        #expect(try await server.waitForExit() == 0)
    }

    @Test func notReadyWhileARecordedCameraHasNotStreamed() async throws {
        let notify = try NotifySocket(abstract: false)
        let folder = NSTemporaryDirectory() + "framestream-systemd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A pipe camera whose command writes nothing: it starts, and never streams.
        let server = try SpawnedServer(
            [Self.server, "--port", "0", "--camera", "pipe", "--command", "sleep 60", "--record", folder],
            environment: ["NOTIFY_SOCKET": notify.address]
        )
        _ = try await server.port()
        let messages = await notify.receive(for: 2)
        #expect(!messages.isEmpty)
        #expect(!messages.contains { $0.contains("READY=1") }, "\(messages)")
        #expect(messages.contains { $0.contains("pipe: starting (waiting for it to stream)") }, "\(messages)")
        try await server.stop()
    }

    @Test func withoutNotifySocketNothingIsSentAndTheServerRuns() async throws {
        let server = try SpawnedServer([Self.server, "--port", "0"], environment: ["WATCHDOG_USEC": "100000"])
        let port = try await server.port()
        #expect(try await Self.get("http://127.0.0.1:\(port)/healthz").body == "ok\n")
        #expect(try await server.stop() == 0)
    }

    @Test func aPassedSocketIsServedAndTheCheckAsksIt() async throws {
        let (listener, port) = try Self.listeningSocket()
        defer { close(listener) }
        // LISTEN_PID must be the server's own: a shell sets it to its pid, then becomes the server.
        let server = try SpawnedServer(
            [
                "/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", Self.server,
                // An address the server could not bind: it must not try.
                "--host", "203.0.113.1", "--port", "1",
            ],
            environment: ["LISTEN_FDS": "1"],
            passing: listener
        )
        let output = try await server.waitForOutput(containing: "on the socket systemd passed")
        #expect(output.contains("127.0.0.1:\(port)"), "\(output)")
        #expect(try await Self.get("http://127.0.0.1:\(port)/healthz").body == "ok\n")
        let snapshot = try await Self.get("http://127.0.0.1:\(port)/snapshot.jpg")
        #expect(snapshot.status == 200)

        let healthy = try SpawnedServer(
            [Self.server, "--check", "--port", "\(port)"],
            environment: [:]
        )
        #expect(try await healthy.waitForExit() == 0, "\(healthy.output)")
        #expect(try await server.stop() == 0)

        // Nothing answers any more: exit status 1 and one line that says so.
        let unhealthy = try SpawnedServer(
            [Self.server, "--check", "--port", "\(port)"],
            environment: [:]
        )
        #expect(try await unhealthy.waitForExit() == 1)
        let lines = unhealthy.output.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: http://127.0.0.1:\(port)/healthz did not answer"))
    }

    @Test func aPassedDescriptorThatIsNoListeningSocketIsAStartupError() async throws {
        let pipeEnds = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { pipeEnds.deallocate() }
        #expect(pipe(pipeEnds) == 0)
        defer {
            close(pipeEnds[0])
            close(pipeEnds[1])
        }
        let server = try SpawnedServer(
            ["/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", Self.server, "--port", "0"],
            environment: ["LISTEN_FDS": "1"],
            passing: pipeEnds[0]
        )
        #expect(try await server.waitForExit() != 0)
        let lines = server.output.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("descriptor 3 is not a listening socket"), "\(lines)")
    }

    /// A TCP socket listening on 127.0.0.1 on a free port, as systemd's `ListenStream=` makes.
    static func listeningSocket() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 128) == 0 else { throw StandInFailure("cannot listen: errno \(errno)") }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        try await withNonRetryingClient { client in
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), String(buffer: body))
        }
    }
}
