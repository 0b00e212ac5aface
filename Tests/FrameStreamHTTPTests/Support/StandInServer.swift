import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The example server, started as a process of its own with the stand-in V4L2 device preloaded, so that the
/// real V4L2 driver talks to a camera through the real libv4l2.
///
/// `make test` builds both `ExampleServer` and `libV4L2StandIn.so` next to the test bundle.
final class StandInServer {
    static let device = "/dev/video-stand-in"

    let folder: String
    let port: Int
    /// `http`, or `https` when the server was given a certificate.
    let scheme: String
    let client: HTTPClient
    private let process: Process

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }
    var controlFolder: String { folder + "/control" }
    var eventLog: String { folder + "/events.log" }

    /// Starts the server with `camera` (by default the stand-in device), `arguments` and the stand-in configured by
    /// `standIn` (variables without the `V4L2_STAND_IN_` prefix), and waits until it listens. `command`, if given,
    /// runs instead of the server, with the server's arguments after its own.
    init(
        camera: [String] = ["--camera", "v4l2", "--device", StandInServer.device],
        arguments: [String] = [],
        standIn: [String: String] = [:],
        command: [String]? = nil
    ) throws {
        let products = Self.products
        let server = products + "/ExampleServer"
        let library = products + "/libV4L2StandIn.so"
        for path in [server, library] where !FileManager.default.fileExists(atPath: path) {
            throw StandInFailure("\(path) is missing: build it first (make test does)")
        }
        folder = NSTemporaryDirectory() + "framestream-v4l2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/control", withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = library
        environment["V4L2_STAND_IN_CONTROL"] = folder + "/control"
        environment["V4L2_STAND_IN_LOG"] = folder + "/events.log"
        for (name, value) in standIn { environment["V4L2_STAND_IN_" + name] = value }
        let log = folder + "/server.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        let command = command ?? [server]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments =
            command.dropFirst() + camera + ["--port", "0", "--log-level", "debug"] + arguments
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
        // Wait for the line that says where it listens; the server is another process, so the log is all there is.
        var found: Int?
        var scheme = "http"
        for _ in 0..<600 where found == nil && process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "://127.0.0.1:"), let at = text.range(of: " at http") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
                scheme = text[at.upperBound...].hasPrefix("s://") ? "https" : "http"
            } else {
                usleep(20_000)
            }
        }
        guard let found else {
            process.terminate()
            throw StandInFailure(
                "the server did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
            )
        }
        port = found
        self.scheme = scheme
        // Trusts any certificate: the tests make their own.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// Where `make test` puts the test bundle, ExampleServer and the stand-in.
    static var products: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// Sends the server a signal (such as SIGHUP).
    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Stops the server with SIGTERM, as a service manager does, and removes the files.
    func stop() async throws {
        try await client.shutdown()
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 10 << 20)
        return (Int(response.status.code), Array(buffer: body))
    }

    /// The camera's state from `/status`.
    func cameraStatus() async throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(try await get("/status").body)) as? [String: Any]
        return json?["camera"] as? [String: Any] ?? [:]
    }

    /// Waits until a line of the server's log contains `text`, and returns it. For errors that do not last (an
    /// unplugged camera's, which the next start's error replaces in `/status`), the log keeps what happened.
    func waitForLog(containing text: String) async throws -> String {
        for _ in 0..<600 {
            let log = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StandInFailure("no log line containing '\(text)' within 30 s")
    }

    /// Polls `/status` until the camera's last error contains `text`; the server is another process, so polling is
    /// the only way to watch it.
    func waitForError(containing text: String) async throws -> String {
        for _ in 0..<200 {
            if let error = try await cameraStatus()["lastError"] as? String, error.contains(text) { return error }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StandInFailure("no camera error containing '\(text)' within 10 s")
    }

    /// The stand-in's event log, one event a line.
    func events() -> [String] {
        ((try? String(contentsOfFile: eventLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func unplug() {
        _ = FileManager.default.createFile(atPath: controlFolder + "/unplugged", contents: nil)
    }

    func replug() throws {
        try FileManager.default.removeItem(atPath: controlFolder + "/unplugged")
    }
}

struct StandInFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
