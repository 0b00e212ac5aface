import ArgumentParser
import FrameStream

import struct Foundation.CharacterSet
import class Foundation.ProcessInfo
import struct Foundation.URL
import struct Foundation.URLComponents

/// `ExampleServer relay --origin URL`: serves the cameras of another FrameStream server (the origin) to viewers
/// here, over one connection to the origin per camera, shared by all of them.
///
/// Each `--origin` is a camera with the `http` driver. The relay connects only while it has viewers and lets go
/// `--idle-timeout` seconds after the last one (so the origin's camera, with no relay watching, stops after its
/// own idle timeout), keeps the origin's frame numbers and capture times, reconnects with backoff when the origin
/// goes away while its viewers see placeholders, and answers `/healthz` with `503` while the origin does not
/// answer, so that a load balancer sends new viewers elsewhere. Every other flag of the server applies.
struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Serve another FrameStream server's cameras, over one connection to it per camera.",
        discussion: """
            Put relays behind a load balancer to serve more viewers than one machine can (deploy/README.md). \
            Each --origin is a stream of the origin, such as http://origin:5000/cameras/front/stream, served here \
            as /cameras/front/. If the origin has users, give it a signed link (its /cameras/NAME/link) or \
            --origin-credentials-file; either is never shown in logs, status or pages.
            """
    )

    @Option(
        name: .customLong("origin"),
        help: """
            A stream of the origin server to relay (repeatable), such as http://origin:5000/cameras/front/stream; \
            the camera is named after the NAME in /cameras/NAME/, else --name.
            """
    )
    var origins: [String] = []

    @Option(
        help: """
            A file with the origin's user and password on one line, as USER:PASSWORD: sent as basic \
            authentication, and kept out of the process list.
            """
    )
    var originCredentialsFile: String?

    @OptionGroup var server: ExampleServer

    func validate() throws {
        if origins.isEmpty {
            throw ValidationError("give the origin's stream: --origin http://origin:5000/cameras/NAME/stream")
        }
        if server.config != nil {
            throw ValidationError(
                "a relay's cameras come from --origin; in a configuration file, give each camera driver: http and url:"
            )
        }
        let ignored: [(String, Bool)] = [
            ("--camera", server.camera != nil), ("--url", server.url != nil), ("--device", server.device != nil),
            ("--command", server.command != nil), ("--frames-dir", server.framesDir != nil),
            ("--list-devices", server.listDevices),
        ]
        if let (flag, _) = ignored.first(where: \.1) {
            throw ValidationError("\(flag) sets up a camera, and a relay's cameras come from --origin")
        }
        if origins.count > 1, server.name != nil {
            throw ValidationError("--name names the one camera of a relay with one --origin")
        }
        _ = try cameras(credentials: nil)
    }

    func run() async throws {
        var credentials: String?
        if let originCredentialsFile {
            credentials = try Self.credentials(fromFile: originCredentialsFile)
        }
        let environment = ProcessInfo.processInfo.environment
        let configuration = try server.serverConfiguration(
            environment: environment,
            cameras: try cameras(credentials: credentials)
        )
        try await server.serve(configuration, environment: environment)
    }

    /// A camera with the `http` driver for each origin, named after the camera it is at the origin.
    /// - Parameter credentials: `USER:PASSWORD` to put in each address, if given.
    func cameras(credentials: String?) throws(StartupError) -> [CameraConfiguration] {
        var cameras: [CameraConfiguration] = []
        for origin in origins {
            guard var address = URLComponents(string: origin), let scheme = address.scheme?.lowercased(),
                ["http", "https"].contains(scheme), address.host?.isEmpty == false
            else {
                throw StartupError(
                    "--origin must be an http:// or https:// address of a stream, such as "
                        + "http://origin:5000/cameras/front/stream; not '\(CredentialRedaction.redacting(origin))'"
                )
            }
            let name = server.name ?? Self.cameraName(inPath: address.path) ?? "camera"
            if cameras.contains(where: { $0.name == name }) {
                throw StartupError("two --origin streams are both camera '\(name)' here: relay each camera once")
            }
            if let credentials, let colon = credentials.firstIndex(of: ":") {
                // Encoded here: a ':' or '@' in the password would otherwise end it early.
                var allowed = CharacterSet.urlPasswordAllowed
                allowed.remove(charactersIn: ":@/?#")
                let user = String(credentials[..<colon])
                let password = String(credentials[credentials.index(after: colon)...])
                address.percentEncodedUser = user.addingPercentEncoding(withAllowedCharacters: allowed) ?? user
                address.percentEncodedPassword =
                    password.addingPercentEncoding(withAllowedCharacters: allowed) ?? password
            }
            var camera = CameraConfiguration(name: name, driver: "http")
            camera.url = address.string ?? origin
            cameras.append(camera)
        }
        return cameras
    }

    /// `NAME` of a path `/cameras/NAME/…` (or of a relay's mount point further in), if the path has one.
    static func cameraName(inPath path: String) -> String? {
        let segments = path.split(separator: "/")
        guard let index = segments.lastIndex(of: "cameras"), index + 1 < segments.count else { return nil }
        return String(segments[index + 1])
    }

    /// The `USER:PASSWORD` line of a credentials file.
    static func credentials(fromFile path: String) throws(StartupError) -> String {
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw StartupError("cannot read --origin-credentials-file \(path): \(error.localizedDescription)")
        }
        let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw StartupError("--origin-credentials-file \(path) must hold USER:PASSWORD on its first line")
        }
        return line
    }
}
