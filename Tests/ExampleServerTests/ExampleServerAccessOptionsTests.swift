import ArgumentParser
import Foundation
import FrameStreamHTTP
import Logging
import Testing

@testable import ExampleServer

/// Users, TLS, links and limits: from the file, from the flags, and what is wrong with them.
struct ExampleServerAccessOptionsTests {
    static let hash = "$2b$04$A5knTGlh0mH5w.6oNxsBduYYLcHJF1cdghK2V8BLbyqLp3B6Ki/vS"
    static let otherHash = "$2y$10$abcdefghijklmnopqrstuuJ3r0XbV0m0X8gXn1oY9rXw0gU6Z2Ke6"

    /// A new empty folder for a test's files.
    static func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "framestream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func temporaryFile(_ text: String, name: String = "cams.yaml") throws -> String {
        let path = try temporaryFolder() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theFileReadsUsersTLSLinksLimitsAndEachCamerasUsers() throws {
        let server = try ConfigurationFile.parse(
            """
            users:
              alice: "\(Self.hash)"
              bob: "\(Self.otherHash)"
            tls: { certificate: /etc/fs/cert.pem, key: /etc/fs/key.pem }
            signingKeyFile: /var/lib/fs/signing.key
            allowOrigin: https://dashboard.example.org
            maxStreamsPerAddress: 4
            lockout: { failures: 5, window: 60, duration: 600 }
            cameras:
              front: { driver: emulated, users: [alice] }
              back: { driver: emulated }
            """,
            file: "cams.yaml"
        )
        #expect(server.problem() == nil)
        #expect(server.users == ["alice": Self.hash, "bob": Self.otherHash])
        #expect(server.tls == .init(certificate: "/etc/fs/cert.pem", key: "/etc/fs/key.pem"))
        #expect(server.signingKeyFile == "/var/lib/fs/signing.key")
        #expect(server.allowOrigin == "https://dashboard.example.org")
        #expect(server.maxStreamsPerAddress == 4)
        #expect([server.lockoutFailures] == [5] && server.lockoutWindow == 60 && server.lockoutDuration == 600)
        #expect(server.cameras.map(\.users) == [["alice"], nil])
        let users = ServerAccess.users(server)
        #expect(users.cameras(for: "bob", of: ["front", "back"]) == ["back"])
        #expect(users.cameras(for: "alice", of: ["front", "back"]) == nil)
    }

    @Test(arguments: [
        ("users:\n  alice: notahash\ncameras:\n  a: { driver: emulated }\n", "key 'users': must be a bcrypt hash"),
        (
            "cameras:\n  a: { driver: emulated, users: [carol] }\n",
            "camera 'a': key 'users': must be names of configured users ('carol' is not one; no users"
        ),
        ("tls: { certificate: c.pem }\ncameras:\n  a: { driver: emulated }\n", "key 'tls': needs both"),
        ("tls: { cert: c.pem, key: k.pem }\ncameras:\n  a: { driver: emulated }\n", "key 'cert': unknown key"),
        ("signingKey: short\ncameras:\n  a: { driver: emulated }\n", "key 'signingKey': must be at least 16"),
        ("maxStreamsPerAddress: 0\ncameras:\n  a: { driver: emulated }\n", "key 'maxStreamsPerAddress'"),
        ("lockout: { failures: 0 }\ncameras:\n  a: { driver: emulated }\n", "key 'lockout'"),
        ("lockout: { window: 0 }\ncameras:\n  a: { driver: emulated }\n", "key 'lockout'"),
        ("cameras:\n  a: { driver: emulated, users: alice }\n", "key 'users': must be a list of user names"),
    ])
    func badAccessSettingsNameTheirKey(_ text: String, _ expected: String) throws {
        let path = try Self.temporaryFile(text)
        let error = #expect(throws: StartupError.self) {
            try ExampleServer.parse(["--config", path]).serverConfiguration(environment: [:])
        }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error")")
        #expect(error?.description.contains("notahash") == false)
    }

    @Test func usersComeFromFlagsAndAUsersFileOverTheConfiguration() throws {
        let usersFile = try Self.temporaryFile(
            "# made by hash-password\nbob:\(Self.otherHash)\n\n  carol:\(Self.hash)  \n",
            name: "users"
        )
        let server = try ExampleServer.parse(["--user", "alice:\(Self.hash)", "--users-file", usersFile])
            .serverConfiguration(environment: [:])
        #expect(server.users == ["alice": Self.hash, "bob": Self.otherHash, "carol": Self.hash])
        let broken = try Self.temporaryFile("bob \(Self.hash)\n", name: "users")
        let error = #expect(throws: StartupError.self) {
            try ExampleServer.parse(["--users-file", broken]).serverConfiguration(environment: [:])
        }
        #expect(error?.description == "users file \(broken): line 1 is not NAME:HASH")
    }

    @Test(arguments: [
        (["--user", "alice"], "--user must be NAME:HASH"),
        (["--user", "alice:xyz"], "--user must be a bcrypt hash for each user"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--max-streams-per-address", "0"], "--max-streams-per-address must be from 1"),
        (["--allow-origin", "a b"], "--allow-origin must be"),
    ])
    func badAccessFlagsFailAtStart(_ arguments: [String], _ expected: String) {
        let error = #expect(throws: (any Error).self) { try ExampleServer.parse(arguments) }
        let message = error.map { ExampleServer.message(for: $0) } ?? ""
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains("xyz"))
    }

    @Test func aServerOthersCanReachIsWarnedAboutWhatIsOpen() {
        var server = ServerConfiguration(cameras: [CameraConfiguration(name: "a", driver: "emulated")])
        #expect(ExampleServer.accessWarnings(server).isEmpty)
        server.host = "0.0.0.0"
        #expect(ExampleServer.accessWarnings(server).first?.contains("anyone who can reach it can watch") == true)
        server.users = ["alice": Self.hash]
        #expect(ExampleServer.accessWarnings(server).first?.contains("unencrypted") == true)
        server.tls = .init(certificate: "c", key: "k")
        #expect(ExampleServer.accessWarnings(server).isEmpty)
        server.users = [:]
        server.host = "::1"
        #expect(ExampleServer.accessWarnings(server).isEmpty)
    }

    @Test func aSigningKeyFileIsMadeOnceReadableByItsOwnerOnly() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var server = ServerConfiguration(cameras: [])
        server.signingKeyFile = folder + "/signing.key"
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let first = try ServerAccess.signingKey(server, logger: quiet)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/signing.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try ServerAccess.signingKey(server, logger: quiet)
        #expect(first == second)
        let signer = StreamLinkSigner(key: first)
        let query = signer.query(path: "/p", expires: 2_000_000_000, user: "u")
        #expect(
            StreamLinkSigner(key: second).verify(
                path: "/p",
                expires: "2000000000",
                signature: String(query.split(separator: "sig=")[1]),
                users: ["u"],
                now: Date()
            ) == .valid(user: "u")
        )
        try "short\n".write(toFile: folder + "/signing.key", atomically: true, encoding: .utf8)
        #expect(throws: StartupError.self) { try ServerAccess.signingKey(server, logger: quiet) }
    }
}
