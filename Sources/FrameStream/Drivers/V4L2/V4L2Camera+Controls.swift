// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
extension V4L2Camera: CameraControls {
    /// The device's controls (brightness, contrast, exposure, focus, …) with their ranges and current values.
    ///
    /// Opens the device for the call: beside the capture while the camera runs (V4L2 lets a second handle use the
    /// controls, as `v4l2-ctl` does), or briefly while it is stopped. Blocks for as long as that takes; from async
    /// code, use ``currentControls()``.
    /// - Throws: ``CameraControlError/unavailable(reason:)`` when the device cannot be opened.
    public func controls() throws(CameraControlError) -> [CameraControl] {
        try V4L2RequestedControls.controls(path: configuration.device)
    }

    /// Sets one control, such as `setControl(name: "brightness", value: 10)`, and remembers it: it is set again
    /// each time the camera starts. Blocks; from async code, use ``setControls(_:)``.
    ///
    /// While the camera is stopped the device is opened briefly to set the value; a camera that forgets its
    /// settings when closed gets it again at the next start.
    /// - Throws: ``CameraControlError`` with the valid range or the names of the controls; nothing is set then.
    public func setControl(name: String, value: Int) throws(CameraControlError) {
        _ = try requestedControls.set([name: value], path: configuration.device)
    }

    /// The values set at each start: ``Configuration/controls`` and those set since.
    public var requestedControlValues: [String: Int] { requestedControls.current }

    /// ``controls()``, on a thread of its own.
    public func currentControls() async throws(CameraControlError) -> [CameraControl] {
        let path = configuration.device
        return try await BlockingCall.run("V4L2 controls \(path)") { () throws(CameraControlError) in
            try V4L2RequestedControls.controls(path: path)
        }
    }

    /// Sets several controls at once, switches first (`exposure_auto` before `exposure_absolute`), on a thread
    /// of its own, and returns the controls as they are afterwards. Nothing is set when one is unknown or out of
    /// range.
    @discardableResult
    public func setControls(_ values: [String: Int]) async throws(CameraControlError) -> [CameraControl] {
        let path = configuration.device
        let requested = requestedControls
        return try await BlockingCall.run("V4L2 controls \(path)") { () throws(CameraControlError) in
            try requested.set(values, path: path)
        }
    }
}
#endif
