/// Why a camera driver could not be selected.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum FrameSourceRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No driver has this name; `known` lists the names there are.
    case unknownDriver(String, known: [String])

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .unknownDriver(let name, let known):
            "unknown camera driver '\(name)': set CAMERA (or --camera) to one of: \(known.joined(separator: ", "))"
        }
    }
}
