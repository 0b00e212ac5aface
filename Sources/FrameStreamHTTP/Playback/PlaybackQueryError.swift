/// A playback request the server cannot follow, with a one-line reason for the client.
public enum PlaybackQueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A time that is not RFC 3339, Unix seconds or relative (`-30s`).
    case invalidTime(String, String)
    /// A rate that is not a number from 1/8 to 64 (negative for reverse).
    case invalidRate(String)
    /// A step that is not a whole number of frames from -1000 to 1000.
    case invalidStep(String)
    /// A control request without a command, or with an unknown one.
    case unknownCommand(String)
    /// `end` before `start`.
    case endBeforeStart

    public var description: String {
        switch self {
        case .invalidTime(let name, let value):
            "\(name)=\(value) is not a time: use RFC 3339 (2026-12-01T10:00:00Z), Unix seconds, or relative (-30s, -10m, -2h, -1d)"
        case .invalidRate(let value):
            "rate=\(value) is not supported: use 0.125 (1/8) to 64, negative for reverse"
        case .invalidStep(let value):
            "step=\(value) is not a number of frames from -1000 to 1000"
        case .unknownCommand(let command):
            command.isEmpty
                ? "no command: POST one of ?pause, ?play, ?live, ?seek=TIME, ?skip=SECONDS, ?rate=R, ?step=N"
                : "unknown command '\(command)': use pause, play, live, seek=TIME, skip=SECONDS, rate=R, step=N"
        case .endBeforeStart:
            "end is before start"
        }
    }
}
