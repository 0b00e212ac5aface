/// Why a camera control could not be read or set, in words that say what to do.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`.
public enum CameraControlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No control has this name; `known` lists the camera's controls.
    case unknownControl(name: String, known: [String])
    /// The value is outside the control's range, off its steps, or not one of its menu items.
    case valueOutOfRange(CameraControl, value: Int)
    /// The control can be read but not set.
    case readOnly(CameraControl)
    /// The device refused the value; `reason` says why (such as another control that must change first).
    case refused(CameraControl, value: Int, reason: String)
    /// The camera cannot be reached to read or set controls now (missing, unplugged, no permission); `reason` is
    /// the driver's own message.
    case unavailable(reason: String)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .unknownControl(let name, let known):
            "the camera has no control '\(name)': use one of "
                + (known.isEmpty ? "(none: this camera has no controls)" : known.joined(separator: ", "))
        case .valueOutOfRange(let control, let value):
            "\(control.name) must be \(control.allowedValues), not \(value)"
        case .readOnly(let control):
            "\(control.name) can be read but not set"
        case .refused(let control, let value, let reason):
            "the camera refused \(control.name) = \(value): \(reason)"
                + (control.isInactive ? " (\(control.name) is inactive: an automatic mode must be off first)" : "")
        case .unavailable(let reason):
            "cannot reach the camera's controls: \(reason)"
        }
    }
}
