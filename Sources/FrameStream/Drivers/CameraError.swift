/// Why a camera could not be opened or stopped delivering frames, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum CameraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A folder of images holds no JPEG files.
    case noImages(directory: String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file is not a JPEG image.
    case notJPEG(path: String)
    /// A JPEG file is cut short: it does not end with the end-of-image marker.
    case truncatedJPEG(path: String)
    /// An option has a value the driver cannot use.
    case invalidOption(name: String, value: String, expected: String)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .noImages(let directory):
            "no JPEG images (*.jpg, *.jpeg) in \(directory): put some there or choose another folder"
        case .unreadableFile(let path, let reason):
            "cannot read \(path): \(reason)"
        case .notJPEG(let path):
            "\(path) is not a JPEG image (it does not start with FF D8): convert it to JPEG or remove it"
        case .truncatedJPEG(let path):
            "\(path) is cut short (it does not end with the JPEG end marker FF D9): copy or save it again, or remove it"
        case .invalidOption(let name, let value, let expected):
            "invalid \(name) '\(value)': expected \(expected)"
        }
    }
}

extension CameraError {
    /// Checks a frame rate: more than 0 and at most 1000 frames per second.
    static func checkFrameRate(_ framesPerSecond: Double) throws(CameraError) {
        guard framesPerSecond > 0, framesPerSecond <= 1000 else {
            throw .invalidOption(
                name: "frame rate",
                value: "\(framesPerSecond)",
                expected: "more than 0 and at most 1000 frames per second"
            )
        }
    }

    /// Checks a JPEG quality: 1 to 100.
    static func checkQuality(_ quality: Int) throws(CameraError) {
        guard (1...100).contains(quality) else {
            throw .invalidOption(name: "quality", value: "\(quality)", expected: "1 to 100")
        }
    }
}
