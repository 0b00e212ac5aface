/// Errors of ``MJPEGEndpoints``, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum MJPEGEndpointsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// ``MJPEGEndpoints/run()`` was called on endpoints that run, or ran, already.
    case alreadyRunning

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .alreadyRunning:
            "the camera's endpoints are running already: add them to one service group, once"
        }
    }
}
