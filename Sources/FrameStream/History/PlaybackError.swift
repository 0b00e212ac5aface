/// Why a ``Playback`` command was refused.
public enum PlaybackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rate is outside what playback supports (1/8 to 64, forwards or backwards).
    case unsupportedRate(Double)
    /// The playback has no history to move in: the camera neither records nor keeps a timeshift ring.
    case noHistory

    public var description: String {
        switch self {
        case .unsupportedRate(let rate):
            "rate \(rate) is not supported: use 1/8 (0.125) to 64, negative for reverse"
        case .noHistory:
            "this camera keeps no history (no recording, no timeshift): only the live view exists"
        }
    }
}
