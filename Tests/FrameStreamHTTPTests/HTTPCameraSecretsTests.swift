import AsyncHTTPClient
import Foundation
import FrameStream
import FrameStreamTesting
import InMemoryLogging
import Testing

@testable import FrameStreamHTTP

/// The password in an upstream's address never leaves the process: not in errors, status, `503` bodies, logs or
/// descriptions.
@Suite(.timeLimit(.minutes(1)))
struct HTTPCameraSecretsTests {
    @Test func aDeadUpstreamsPasswordStaysOutOfStatusSnapshotsAndLogs() async throws {
        // Port 1 on loopback: nothing listens there, so every connection is refused at once.
        try await withNonRetryingClient { client in
            try await Self.checkSecretsStayIn(
                try HTTPCamera(configuration: .init(url: "http://viewer:secretpw@127.0.0.1:1/stream"), client: client)
            )
        }
    }

    static func checkSecretsStayIn(_ camera: HTTPCamera) async throws {
        let (logger, log) = recordingLogger()
        try await RelayServer.run(camera: camera, logger: logger) { server in
            async let snapshot = server.get("/snapshot.jpg?placeholder=0")
            // The snapshot's timeout, the camera's restart backoff (the camera has failed once) and the
            // placeholders' timer.
            await server.clock.waitForSleepers(3)
            server.clock.advance(by: .seconds(5))
            let unavailable = try await snapshot
            #expect(unavailable.status == 503)
            // The placeholder says what went wrong, without the password either (made as the timeout passed).
            try await eventually { server.broadcaster.currentPlaceholder != nil }
            let placeholder = try #require(server.broadcaster.currentPlaceholder)
            #expect(placeholder.text.joined().contains("viewer:***@127.0.0.1:1"))
            #expect(!placeholder.text.joined().contains("secretpw"))
            #expect(unavailable.body.contains("cannot read the stream at http://viewer:***@127.0.0.1:1/stream"))
            #expect(!unavailable.body.contains("secretpw"))

            let status = try await server.get("/status")
            #expect(status.body.contains("viewer:***@127.0.0.1:1"))
            #expect(!status.body.contains("secretpw"))

            let failures = log.entries.filter { "\($0.message)".contains("camera failed") }
            #expect(!failures.isEmpty)
            for entry in log.entries {
                #expect(!"\(entry.message) \(entry.metadata)".contains("secretpw"))
            }
        }
    }

    @Test func descriptionsAndErrorsShowTheAddressRedacted() throws {
        let configuration = HTTPCamera.Configuration(url: "http://admin:secretpw@camera.local/video?pwd=secretpw&x=1")
        let camera = try HTTPCamera(configuration: configuration)
        var dumped = ""
        dump(camera, to: &dumped)
        dump(configuration, to: &dumped)
        let texts = [
            camera.description, String(reflecting: camera), "\(camera.configuration)",
            String(reflecting: configuration),
            camera.redactedURL, dumped,
        ]
        for text in texts {
            #expect(!text.contains("secretpw"), "\(text)")
        }
        #expect(camera.redactedURL == "http://admin:***@camera.local/video?pwd=***&x=1")

        // Even an address that is not a URL at all is quoted without its password.
        for address in ["ftp://u:secretpw@camera/stream", "http://u:secretpw@[not a host/stream"] {
            let error = #expect(throws: HTTPCameraError.self) { try HTTPCamera(configuration: .init(url: address)) }
            #expect(error?.description.contains("secretpw") == false)
            #expect(error?.description.contains("u:***@") == true)
        }
    }

    @Test func credentialsAreSentButNotShown() throws {
        let address = try StreamAddress("http://us%20er:pa%3Ass@host:8080/cgi?usr=admin&pwd=hunter22")
        #expect(address.requestURL == "http://host:8080/cgi?usr=admin&pwd=hunter22")
        #expect(address.authorization == "Basic " + Data("us er:pa:ss".utf8).base64EncodedString())
        #expect(address.redacted == "http://us%20er:***@host:8080/cgi?usr=admin&pwd=***")
        // Text from elsewhere that quotes a secret is scrubbed too.
        #expect(
            address.scrub("failed: GET http://host:8080/cgi?usr=admin&pwd=hunter22")
                == "failed: GET http://host:8080/cgi?usr=admin&pwd=***"
        )
        #expect(StreamAddress.redact("http://host/a?token=abc#frag") == "http://host/a?token=***#frag")
        #expect(StreamAddress.redact("http://user@host/") == "http://user@host/")
    }
}
