// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
/// Why a V4L2 camera could not be opened or stopped delivering frames, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum V4L2Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// No device at the path.
    case deviceMissing(String)
    /// Another program holds the device.
    case deviceBusy(String)
    /// The user may not open the device.
    case permissionDenied(String)
    /// The device does not capture video (an output or metadata node, for example).
    case notCaptureDevice(String, card: String)
    /// The device offers none of the formats this driver reads.
    case formatUnsupported(String, offered: [String])
    /// The device went away while streaming (unplugged).
    case unplugged(String)
    /// The device delivered no frame for a long time.
    case stalled(String, seconds: Int)
    /// A V4L2 call failed.
    case callFailed(String, call: String, errno: Int32, message: String)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .deviceMissing(let path):
            "camera \(path) not found: is it plugged in? (list cameras with --list-devices)"
        case .deviceBusy(let path):
            "camera \(path) is busy: another program is using it; close that program (fuser \(path) names it)"
        case .permissionDenied(let path):
            "no permission to open camera \(path): add your user to the 'video' group, or run as root"
        case .notCaptureDevice(let path, let card):
            "\(path) (\(card)) is not a video capture device: try another /dev/video* (--list-devices)"
        case .formatUnsupported(let path, let offered):
            "camera \(path) offers no format this driver reads (MJPEG, YUYV, or one libv4l2 converts); it offers: "
                + (offered.isEmpty ? "nothing" : offered.joined(separator: ", "))
        case .unplugged(let path):
            "camera \(path) was unplugged; waiting for it to come back"
        case .stalled(let path, let seconds):
            "camera \(path) sent no frame for \(seconds) s; restarting it"
        case .callFailed(let path, let call, let errno, let message):
            "camera \(path): \(call) failed: \(message) (errno \(errno))"
        }
    }
}
#endif
