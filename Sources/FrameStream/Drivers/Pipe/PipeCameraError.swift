/// Why a command camera failed, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum PipeCameraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command could not be started.
    case startFailed(String, reason: String)
    /// The command ended; `lastMessage` is the last line it wrote to standard error.
    case commandExited(String, status: Int32, lastMessage: String?)
    /// The command produced nothing that looks like a JPEG for the stall timeout (`after`).
    case noImages(String, after: Duration)
    /// The command's images are larger than ``PipeCamera/Configuration/maximumFrameBytes`` (`limit`): `bytes` is
    /// the size of the last one.
    case frameTooLarge(String, bytes: Int, limit: Int)

    /// What went wrong and what to do about it; passwords in addresses in the command, or in what it said, are
    /// shown as `***`.
    public var description: String {
        CredentialRedaction.redacting(unredactedDescription)
    }

    private var unredactedDescription: String {
        switch self {
        case .startFailed(let command, let reason):
            "cannot start '\(command)': \(reason)"
        case .commandExited(let command, let status, let lastMessage):
            (status == 127
                ? "command not found: '\(command)' (exit 127): is the program installed and on PATH?"
                : "'\(command)' exited with status \(status)")
                + (lastMessage.map { "; it said: \($0)" } ?? "")
        case .noImages(let command, let timeout):
            "'\(command)' wrote no JPEG image for \(timeout.secondsDescription): does it write Motion-JPEG (such as "
                + "ffmpeg -f mjpeg -) to standard output?"
        case .frameTooLarge(let command, let bytes, let limit):
            "'\(command)' wrote a \(JPEGStreamSplitter.DroppedImage.tooLarge(bytes: bytes, limit: limit)): "
                + "raise maximumFrameBytes to at least \(bytes), or make the command write smaller images"
        }
    }
}
