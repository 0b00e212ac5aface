import FrameStream
import FrameStreamTesting
import InMemoryLogging
import Logging
import Testing

/// Passwords in command lines and in what commands say never reach errors, status or logs.
struct CredentialRedactionTests {
    @Test(arguments: [
        ("ffmpeg -i rtsp://admin:s3cret@cam.local:554/stream -f mjpeg -", "rtsp://admin:***@cam.local:554/stream"),
        ("curl -s 'http://u:p%40ss@h/x' | cat", "http://u:***@h/x"),
        ("a http://x:y@h b https://m:n@k/", "a http://x:***@h b https://m:***@k/"),
        ("[tcp @ 0x55] Connection to tcp://bob:pw@10.0.0.2:554 failed", "tcp://bob:***@10.0.0.2:554 failed"),
    ])
    func passwordsInAddressesAreHidden(_ text: String, _ expected: String) {
        let redacted = CredentialRedaction.redacting(text)
        #expect(redacted.contains(expected), "\(redacted)")
        for secret in ["s3cret", "p%40ss", ":y@", ":n@", ":pw@"] { #expect(!redacted.contains(secret)) }
    }

    @Test(arguments: ["rpicam-vid -t 0 -o -", "http://host/path", "user@host", "a://", "://", "x://:@", ""])
    func textWithoutPasswordsIsUnchanged(_ text: String) {
        #expect(CredentialRedaction.redacting(text) == text)
    }

    @Test func pipeErrorsAndOptionsShowNoPassword() {
        let command = "ffmpeg -i rtsp://admin:s3cret@cam/ -f mjpeg -"
        let errors: [PipeCameraError] = [
            .startFailed(command, reason: "no shell"),
            .commandExited(command, status: 1, lastMessage: "rtsp://admin:s3cret@cam/: 401 Unauthorized"),
            .noImages(command, after: .seconds(1)), .frameTooLarge(command, bytes: 20, limit: 10),
        ]
        for error in errors {
            #expect(!error.description.contains("s3cret"), "\(error)")
            #expect(error.description.contains("admin:***@cam"), "\(error)")
        }
        let options = CameraOptions(command: command, url: "http://viewer:pw123@cam/video")
        for text in [options.description, String(reflecting: options), "\(options)"] {
            #expect(!text.contains("s3cret") && !text.contains("pw123"), "\(text)")
        }
        var dumped = ""
        dump(options, to: &dumped)
        #expect(!dumped.contains("s3cret") && !dumped.contains("pw123"), "\(dumped)")
    }
}

/// A third-party driver that puts a password in its error.
private struct LeakyCamera: FrameSource {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "cannot open rtsp://admin:hunter2@cam/live" }
    }

    func frames() -> AsyncThrowingStream<JPEGImage, any Error> {
        AsyncThrowingStream { $0.finish(throwing: Failure()) }
    }
}

extension CredentialRedactionTests {
    @Test func theBroadcasterRedactsWhateverADriverPutsInItsError() async throws {
        var handler = InMemoryLogHandler()
        handler.logLevel = .debug
        let clock = ManualClock()
        let broadcaster = FrameBroadcaster(
            source: LeakyCamera(),
            configuration: .init(placeholders: .off),  // the restart backoff is then the only sleeper
            clock: clock,
            logger: Logger(label: "test", factory: { _ in handler })
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await broadcaster.run() }
            let subscription = broadcaster.subscribe()
            await clock.waitForSleepers(1)  // the restart backoff: the failure has been recorded
            let lastError = try #require(broadcaster.status.lastError)
            #expect(lastError.contains("rtsp://admin:***@cam/live"), "\(lastError)")
            #expect(!handler.entries.contains { "\($0.message)".contains("hunter2") })
            #expect(handler.entries.contains { "\($0.message)".contains("admin:***@cam") })
            withExtendedLifetime(subscription) {}
            group.cancelAll()
        }
    }
}
