import Logging
import Synchronization

/// A log handler that keeps every message, for tests of what gets logged.
struct RecordingLogHandler: LogHandler {
    /// The messages logged through any copy of this handler, in order.
    final class Messages: Sendable {
        private let messages = Mutex<[String]>([])

        var all: [String] { messages.withLock { $0 } }

        func append(_ message: String) {
            messages.withLock { $0.append(message) }
        }
    }

    let messages: Messages
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.append(event.message.description)
    }

    /// A logger that records into `messages`.
    static func logger(recordingInto messages: Messages) -> Logger {
        Logger(label: "test") { _ in RecordingLogHandler(messages: messages) }
    }
}
