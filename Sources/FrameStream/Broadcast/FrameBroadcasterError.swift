/// Errors of a ``FrameBroadcaster``, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum FrameBroadcasterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// ``FrameBroadcaster/run()`` was called on a broadcaster that runs, or ran, already.
    case alreadyRunning
    /// The camera's sequence of frames ended without an error; it is restarted while anyone watches.
    case sourceEnded(driver: String)
    /// No fresh frame came within the timeout; `lastError` is the camera's most recent failure, if any.
    case noFrameWithin(Duration, driver: String, lastError: String?)
    /// The broadcaster has stopped (the program is shutting down).
    case shutDown

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .alreadyRunning:
            "the frame broadcaster is running already: call run() once, from one service group"
        case .sourceEnded(let driver):
            "camera '\(driver)' stopped sending frames"
        case .noFrameWithin(let timeout, let driver, let lastError):
            "camera '\(driver)' sent no frame within \(timeout)"
                + (lastError.map { " (last error: \($0))" } ?? ": is it connected and working?")
        case .shutDown:
            "the camera service has shut down"
        }
    }
}
