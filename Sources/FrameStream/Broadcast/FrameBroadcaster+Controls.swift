extension FrameBroadcaster {
    /// The camera's controls (brightness, exposure, focus, …), if its driver has them (``CameraControls``).
    public var controls: (any CameraControls)? {
        source as? any CameraControls
    }
}
