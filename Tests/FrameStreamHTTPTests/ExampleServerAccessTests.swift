import AsyncHTTPClient
import Foundation
import HummingbirdBcrypt
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real ExampleServer with users, links and TLS, the way people run it.
@Suite(.timeLimit(.minutes(1)))
struct ExampleServerAccessTests {
    /// A new empty folder for a test's files; the test removes it.
    static func makeFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "framestream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Runs `ExampleServer hash-password` with `input` on a pipe.
    static func hashPassword(
        _ input: String,
        arguments: [String] = []
    ) throws -> (
        status: Int32, output: String, errors: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StandInServer.products + "/ExampleServer")
        process.arguments = ["hash-password"] + arguments
        let (standardInput, output, errors) = (Pipe(), Pipe(), Pipe())
        process.standardInput = standardInput
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        standardInput.fileHandleForWriting.write(Data(input.utf8))
        try standardInput.fileHandleForWriting.close()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let outputText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, outputText, errorText)
    }

    @Test func hashPasswordReadsOneLineFromAPipeWithoutItsNewline() throws {
        let (status, output, errors) = try Self.hashPassword(
            "correct horse\nsecond line\n",
            arguments: ["--cost", "5"]
        )
        #expect(status == 0, "\(errors)")
        let hash = output.trimmingCharacters(in: .newlines)
        #expect(hash.hasPrefix("$2b$05$") && hash.count == 60, "\(output)")
        #expect(Bcrypt.verify("correct horse", hash: hash))
        #expect(!Bcrypt.verify("correct horse\n", hash: hash))
        for (input, expected) in [("", "no password on standard input"), ("\n", "the password is empty")] {
            let empty = try Self.hashPassword(input)
            #expect(empty.status != 0)
            #expect(empty.errors.contains(expected), "\(empty.errors)")
        }
        #expect(try Self.hashPassword(String(repeating: "x", count: 73) + "\n").errors.contains("longer than 72 bytes"))
    }

    @Test func certificateProblemsStopTheServerAtStart() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let one = try TestCertificate().write(to: folder)
        let otherFolder = folder + "/other"
        try FileManager.default.createDirectory(atPath: otherFolder, withIntermediateDirectories: true)
        let other = try TestCertificate().write(to: otherFolder)
        let cases: [([String], String)] = [
            (["--tls-cert", one.certificate, "--tls-key", other.key], "does not belong to the certificate"),
            (["--tls-cert", folder + "/none.pem", "--tls-key", one.key], "cannot read the TLS certificate"),
            (["--tls-cert", one.certificate, "--tls-key", folder + "/none.pem"], "cannot read the TLS private key"),
            (["--tls-cert", one.key, "--tls-key", one.key], "cannot read the TLS certificate"),
        ]
        for (arguments, expected) in cases {
            let (status, _, errors) = try ExampleServerProcessTests.runToEnd(arguments + ["--port", "0"])
            #expect(status != 0)
            #expect(errors.hasPrefix("error: ") && errors.contains(expected), "\(arguments): \(errors)")
            #expect(errors.filter { $0 == "\n" }.count == 1, "\(errors)")
            #expect(!errors.contains("PRIVATE KEY"))
        }
    }

    @Test func usersLinksAndTLSWorkTogetherAndNoSecretIsLogged() async throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificate = try TestCertificate().write(to: folder)
        let password = "pässword with spaces"
        let hash = Bcrypt.hash(password, cost: 4)
        let config = folder + "/cams.yaml"
        try """
        users:
          alice: "\(hash)"
          bob: "\(hash)"
        tls: { certificate: \(certificate.certificate), key: \(certificate.key) }
        signingKeyFile: \(folder)/signing.key
        cameras:
          front: { driver: emulated, users: [alice] }
          back: { driver: testpattern, fps: 5, size: 160x120 }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        func basic(_ user: String) -> [(String, String)] {
            [("authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
        }
        var link = ""
        let server = try StandInServer(camera: ["--config", config])
        do {
            #expect(server.scheme == "https")
            #expect(try await server.get("/healthz").status == 200)
            #expect(try await server.get("/").status == 401)
            #expect(try await server.get("/cameras/front/snapshot.jpg", headers: basic("alice")).status == 200)
            #expect(try await server.get("/cameras/front/snapshot.jpg", headers: basic("bob")).status == 403)
            #expect(try await server.get("/cameras/back/snapshot.jpg", headers: basic("bob")).status == 200)
            let links = try JSONSerialization.jsonObject(
                with: Data(try await server.get("/cameras/back/link?expires=600", headers: basic("bob")).body)
            )
            link = try #require((links as? [String: Any])?["snapshot"] as? String)
            #expect(try await server.get(link).status == 200)
        } catch {
            try? await server.stop()
            throw error
        }
        let log = (try? String(contentsOfFile: server.folder + "/server.log", encoding: .utf8)) ?? ""
        try await server.stop()
        // The key file outlives the server: a restart keeps the links.
        let key = try String(contentsOfFile: folder + "/signing.key", encoding: .utf8)
        let restarted = try StandInServer(camera: ["--config", config])
        let answer = try await restarted.get(link)
        let restartedLog = (try? String(contentsOfFile: restarted.folder + "/server.log", encoding: .utf8)) ?? ""
        try await restarted.stop()
        #expect(answer.status == 200)
        for secret in [password, hash, key.trimmingCharacters(in: .whitespacesAndNewlines), "sig="] {
            #expect(!(log + restartedLog).contains(secret))
        }
        #expect(log.contains("made a new signing key for links in \(folder)/signing.key"))
    }

    @Test func anAllowedOriginGetsCORSHeadersAndItsPreflightNeedsNoPassword() async throws {
        let hash = Bcrypt.hash("pw", cost: 4)
        let server = try StandInServer(
            camera: ["--camera", "emulated"],
            arguments: ["--allow-origin", "https://dash.example.org", "--user", "alice:\(hash)"]
        )
        do {
            var preflight = HTTPClientRequest(url: server.baseURL + "/snapshot.jpg")
            preflight.method = .OPTIONS
            preflight.headers.add(name: "origin", value: "https://dash.example.org")
            preflight.headers.add(name: "access-control-request-method", value: "GET")
            preflight.headers.add(name: "access-control-request-headers", value: "authorization")
            let answer = try await server.client.execute(preflight, timeout: .seconds(10))
            #expect(answer.status == .noContent || answer.status == .ok)
            #expect(answer.headers.first(name: "access-control-allow-origin") == "https://dash.example.org")
            #expect(answer.headers.first(name: "access-control-allow-credentials") == "true")
            #expect(
                answer.headers.first(name: "access-control-allow-headers")?.lowercased().contains("authorization")
                    == true
            )
            var get = HTTPClientRequest(url: server.baseURL + "/snapshot.jpg")
            get.headers.add(name: "origin", value: "https://dash.example.org")
            get.headers.add(name: "authorization", value: "Basic " + Data("alice:pw".utf8).base64EncodedString())
            let snapshot = try await server.client.execute(get, timeout: .seconds(10))
            #expect(snapshot.status == .ok)
            #expect(snapshot.headers.first(name: "access-control-allow-origin") == "https://dash.example.org")
            // Without the option, no CORS headers at all.
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
        let closed = try StandInServer(camera: ["--camera", "emulated"])
        var get = HTTPClientRequest(url: closed.baseURL + "/status")
        get.headers.add(name: "origin", value: "https://dash.example.org")
        let status = try await closed.client.execute(get, timeout: .seconds(10))
        try await closed.stop()
        #expect(status.headers.first(name: "access-control-allow-origin") == nil)
    }

    /// The certificate a TLS handshake with the server gets.
    static func servedCertificate(port: Int) async throws -> [UInt8] {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let handshake = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: nil)
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(tls: tls, done: handshake))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        defer { channel.close(promise: nil) }
        return try await handshake.futureResult.get()
    }

    /// Reports the peer's certificate once the handshake is done.
    final class HandshakeWatcher: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let tls: NIOSSLClientHandler
        let done: EventLoopPromise<[UInt8]>

        init(tls: NIOSSLClientHandler, done: EventLoopPromise<[UInt8]>) {
            self.tls = tls
            self.done = done
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted = event as? TLSUserEvent {
                done.completeWith(Result { try tls.peerCertificate?.toDERBytes() ?? [] })
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
        }
    }

    @Test func sighupServesARenewedCertificateAndABadOneKeepsTheOld() async throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try TestCertificate(commonName: "first")
        let second = try TestCertificate(commonName: "second")
        let files = try first.write(to: folder)
        func der(_ certificate: TestCertificate) throws -> [UInt8] {
            try NIOSSLCertificate(bytes: Array(certificate.certificatePEM.utf8), format: .pem).toDERBytes()
        }
        let server = try StandInServer(
            camera: ["--camera", "emulated"],
            arguments: ["--tls-cert", files.certificate, "--tls-key", files.key]
        )
        do {
            #expect(try await Self.servedCertificate(port: server.port) == der(first))
            _ = try second.write(to: folder)
            server.signal(SIGHUP)
            var served: [UInt8] = []
            for _ in 0..<100 where served != (try der(second)) {
                try await Task.sleep(for: .milliseconds(50))
                served = try await Self.servedCertificate(port: server.port)
            }
            #expect(served == (try der(second)))
            // A broken file is logged and the last good pair stays.
            try "not a certificate".write(toFile: files.certificate, atomically: true, encoding: .utf8)
            server.signal(SIGHUP)
            let log = server.folder + "/server.log"
            for _ in 0..<100 where !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("kept the") {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await Self.servedCertificate(port: server.port) == der(second))
            #expect(try await server.get("/status").status == 200)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(text.contains("reloaded the TLS certificate"))
            #expect(text.contains("kept the previous TLS certificate: cannot read the TLS certificate"))
            #expect(!text.contains("PRIVATE KEY"))
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func sighupWithoutTLSLeavesTheServerRunning() async throws {
        let server = try StandInServer(camera: ["--camera", "emulated"])
        server.signal(SIGHUP)
        let log = server.folder + "/server.log"
        for _ in 0..<100
        where !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("nothing to reload") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let status = try? await server.get("/status").status
        try await server.stop()
        #expect(text.contains("SIGHUP: nothing to reload"))
        #expect(status == 200)
    }

    @Test func aConnectionThatNeverStartsItsTLSHandshakeIsClosed() async throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try TestCertificate().write(to: folder)
        let server = try StandInServer(
            camera: ["--camera", "emulated"],
            arguments: ["--tls-cert", files.certificate, "--tls-key", files.key, "--request-timeout", "0.3"]
        )
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port).get()
        let closed = try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await silent.closeFuture.get()
                return true
            }
            tasks.addTask {
                try await Task.sleep(for: .seconds(20))
                try? await silent.close()
                return false
            }
            defer { tasks.cancelAll() }
            return try await tasks.next() ?? false
        }
        try await server.stop()
        #expect(closed)
    }
}
