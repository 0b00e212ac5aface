import FrameStream

/// Why an upstream stream could not be read, in words that say what to do.
///
/// Every address in these errors has its password and credential query values replaced by `***`: the errors end
/// up in logs, in `/status` and in the bodies of `503` answers.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum HTTPCameraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address is not an `http` or `https` URL.
    case invalidURL(String)
    /// The upstream could not be reached or the connection broke.
    case connectionFailed(String, reason: String)
    /// The upstream wants other credentials.
    case unauthorized(String, status: Int)
    /// The upstream answered with another status than success.
    case badStatus(String, status: Int)
    /// The upstream answered with a `Content-Type` that is neither an image nor a multipart stream (a web page,
    /// an error in JSON).
    case notMotionJPEG(String, contentType: String)
    /// The upstream sent no new, complete JPEG within the stall timeout: it did not answer (`answered` false),
    /// sent `receivedBytes` of something else, or only repeated a frame it had sent already (`repeatedFrame`,
    /// its `X-Frame-Sequence`).
    case noValidFrame(String, within: Duration, answered: Bool, receivedBytes: Int, repeatedFrame: UInt64?)
    /// The upstream, another FrameStream server, sent only placeholders within the stall timeout: its own camera
    /// has no picture (starting, failed, or no signal).
    case upstreamHasNoPicture(String, within: Duration)
    /// The upstream closed the stream.
    case streamEnded(String)
    /// The upstream sent images larger than the limit (``HTTPCamera/Configuration/maximumFrameBytes``), and no
    /// frame that fits.
    case frameTooLarge(String, limit: Int)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .invalidURL(let url):
            "invalid stream address '\(url)': expected http://host[:port]/path or https://…"
        case .connectionFailed(let url, let reason):
            "cannot read the stream at \(url): \(reason)"
        case .unauthorized(let url, let status):
            "the stream at \(url) refused access (HTTP \(status)): put the right user and password in the address, "
                + "as http://user:password@host/…"
        case .badStatus(let url, let status):
            "the stream at \(url) answered HTTP \(status): is the address right?"
        case .notMotionJPEG(let url, let contentType):
            "upstream \(url) answered \(contentType), not Motion-JPEG (multipart/x-mixed-replace) or image/jpeg: "
                + "use the address of the stream itself, not of a page that shows it"
        case .noValidFrame(let url, let timeout, let answered, let receivedBytes, let repeatedFrame):
            if !answered {
                "upstream \(url) did not answer within \(Self.seconds(timeout)): is it running and reachable?"
            } else if let repeatedFrame {
                "upstream \(url) sent no new frame for \(Self.seconds(timeout)), only frame \(repeatedFrame) again: "
                    + "its camera has probably stopped; reconnecting"
            } else if receivedBytes == 0 {
                "upstream \(url) sent nothing for \(Self.seconds(timeout)); reconnecting"
            } else {
                "upstream \(url) sent \(receivedBytes) bytes in \(Self.seconds(timeout)) but no complete JPEG: "
                    + "is it a Motion-JPEG stream? reconnecting"
            }
        case .upstreamHasNoPicture(let url, let timeout):
            "upstream \(url) sent only placeholders for \(Self.seconds(timeout)): its camera has no picture "
                + "(see its status); reconnecting"
        case .streamEnded(let url):
            "the stream at \(url) ended; reconnecting"
        case .frameTooLarge(let url, let limit):
            "upstream \(url) sends frames larger than the \(JPEGStreamSplitter.DroppedImage.size(limit)) limit "
                + "(\(limit) bytes): raise maximumFrameBytes; reconnecting"
        }
    }

    /// A duration in seconds, with the fraction a short one needs: `10 s`, `0.3 s`, `1.25 s`, `0.0005 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return "\(duration)" }
        let microseconds = attoseconds / 1_000_000_000_000
        guard microseconds > 0 else { return "\(seconds) s" }
        var fraction = String(microseconds)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction) s"
    }
}
