import Foundation
import FrameStreamTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real ExampleServer binary: how it fails at start, and how it treats slow clients.
@Suite(.timeLimit(.minutes(1)))
struct ExampleServerProcessTests {
    /// Runs the binary to its end; its status, standard output and standard error.
    static func runToEnd(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StandInServer.products + "/ExampleServer")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let outputText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, outputText, errorText)
    }

    @Test(arguments: [
        (["--camera", "kinect"], "unknown camera driver 'kinect'"),
        (["--frames-dir", "/nonexistent/frames"], "/nonexistent/frames"),
        (["--fps", "1e-19"], "--fps must be from 0.001 to 1000"),
        (["--max-fps", "nan"], "--max-fps must be from 0.001 to 1000"),
        (["--port", "99999"], "--port must be from 0 to 65535"),
        (["--size", "big"], "'--size <size>'"),
        (["--frobnicate"], "--frobnicate"),
        (["--config", "/nonexistent/cams.yaml"], "/nonexistent/cams.yaml: no such file"),
    ])
    func aStartupErrorIsOneLineOnStandardErrorAndAFailingStatus(_ arguments: [String], _ expected: String) throws {
        let port = arguments.contains("--port") ? [] : ["--port", "0"]
        let (status, output, errors) = try Self.runToEnd(arguments + port)
        #expect(status != 0, "\(arguments) exited 0")
        #expect(errors.hasPrefix("error: "), "\(errors)")
        #expect(errors.contains(expected), "\(errors)")
        #expect(errors.filter { $0 == "\n" }.count == 1, "not one line: \(errors)")
        #expect(output.isEmpty, "\(output)")
    }

    @Test func aViewerLimitAboveTheOpenFileLimitIsLoggedAtStart() async throws {
        let server = try StandInServer(
            camera: ["--camera", "emulated"],
            arguments: ["--max-clients", "5000"],
            command: ["/bin/sh", "-c", "ulimit -n 300 && exec \"$@\"", "sh", StandInServer.products + "/ExampleServer"]
        )
        let log = (try? String(contentsOfFile: server.folder + "/server.log", encoding: .utf8)) ?? ""
        try await server.stop()
        let line = log.split(separator: "\n").first { $0.contains("--max-clients 5000") }
        #expect(line?.contains("warning") == true, "\(log)")
        #expect(line?.contains("236 connections") == true, "\(log)")
        #expect(line?.contains("open-file limit is 300") == true, "\(log)")
    }

    @Test func aClientThatTricklesItsHeadersIsClosedAfterTheRequestTimeout() async throws {
        let server = try StandInServer(camera: ["--camera", "emulated"], arguments: ["--request-timeout", "0.3"])
        do {
            let slow = try RawConnection(port: server.port)
            // One byte of the head every 50 ms: without a limit on the whole head, this would go on for ever.
            var closed = false
            for byte in ("GET /status HTTP/1.1\r\n" + String(repeating: "X-Pad: 1\r\n", count: 50)).utf8 {
                guard slow.sendReportingClosed(byte) else {
                    closed = true
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(closed, "the server kept a connection whose head never ended")
            // Others are served meanwhile.
            #expect(try await server.get("/status").status == 200)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }
}

extension ExampleServerProcessTests {
    /// Whether this machine lets the tests make a mount namespace (root, and no container policy against it).
    static let canHideTheCheckout: Bool = {
        guard getuid() == 0 else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["-m", "/bin/sh", "-c", "mount -t tmpfs none /mnt"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    @Test(.enabled(if: canHideTheCheckout, "hiding the checkout needs a mount namespace (root, unshare -m)"))
    func aCopiedBinaryServesTheEmulatedCameraWithTheCheckoutHidden() async throws {
        let checkout = URL(fileURLWithPath: TestFixtures.directory).deletingLastPathComponent().path
        let folder = NSTemporaryDirectory() + "framestream-copy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // In a mount namespace of its own, an empty file system over the checkout: the source tree is gone.
        let script = folder + "/hidden.sh"
        try """
        #!/bin/sh
        # Copied here, not by the test process: a copy open for writing there could be inherited by another
        # test's child process, and exec would then fail with "text file busy".
        cp '\(StandInServer.products)/ExampleServer' '\(folder)/ExampleServer' || exit 97
        mount -t tmpfs none '\(checkout)' || exit 99
        test -e '\(TestFixtures.directory)' && exit 98
        exec '\(folder)/ExampleServer' "$@"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let server = try StandInServer(camera: [], command: ["/usr/bin/unshare", "-m", "/bin/sh", script])
        do {
            let snapshot = try await server.get("/snapshot.jpg")
            #expect(snapshot.status == 200)
            #expect(try DecodedJPEG(snapshot.body).width == 640)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }
}

extension ExampleServerProcessTests {
    @Test func makeInstallPutsTheBinaryAndAHardenedUnitUnderThePrefix() throws {
        let checkout = URL(fileURLWithPath: TestFixtures.directory).deletingLastPathComponent().path
        let root = NSTemporaryDirectory() + "framestream-install-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = [
            "make", "-s", "-C", checkout, "install-files", "BIN_DIR=\(StandInServer.products)", "DESTDIR=\(root)",
            "PREFIX=/opt/framestream",
        ]
        make.standardOutput = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        let prefix = root + "/opt/framestream"
        #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/ExampleServer"))
        let unit = try String(contentsOfFile: prefix + "/share/framestream/framestream.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/opt/framestream/bin/ExampleServer --config /etc/framestream/cameras.yaml"))
        for setting in ["DynamicUser=yes", "SupplementaryGroups=video", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
            #expect(unit.contains("\n\(setting)\n"), "\(setting)")
        }
        #expect(!unit.contains("@PREFIX@"))
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/framestream/cameras.example.yaml"))
    }
}

extension RawConnection {
    /// Sends one byte; `false` once the server has closed the connection.
    func sendReportingClosed(_ byte: UInt8) -> Bool {
        var byte = byte
        return sendBytes(&byte, count: 1)
    }
}
