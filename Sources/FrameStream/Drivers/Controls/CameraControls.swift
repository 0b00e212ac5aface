/// A camera whose settings (brightness, contrast, exposure, focus, …) can be listed and changed, while it runs or
/// not: what a ``FrameSource`` conforms to when its driver has such controls, as ``V4L2Camera`` does.
///
/// The HTTP endpoints serve a camera's controls only when its source conforms (`GET` and `POST controls`); a
/// program finds them through ``FrameBroadcaster/controls``:
///
/// ```swift
/// if let controls = broadcaster.controls {
///     try await controls.setControls(["brightness": 10, "exposure_auto": 1])
/// }
/// ```
///
/// A value set is remembered and set again each time the camera starts, so that it outlasts the idle stop and a
/// camera that forgets its settings when it is closed or unplugged.
public protocol CameraControls: Sendable {
    /// The camera's controls, with their ranges and current values, in the driver's order.
    /// - Throws: ``CameraControlError/unavailable(reason:)`` when the camera cannot be reached.
    func currentControls() async throws(CameraControlError) -> [CameraControl]

    /// Checks every value, then sets them (switches such as `exposure_auto` first), remembers them for the next
    /// starts, and returns the controls as they are afterwards. Nothing is set when a value is unknown or out of
    /// range.
    /// - Parameter values: values by control name; booleans are 0 and 1, menus take an item's index.
    /// - Throws: ``CameraControlError`` with the control's valid range or the list of names.
    @discardableResult
    func setControls(_ values: [String: Int]) async throws(CameraControlError) -> [CameraControl]
}
