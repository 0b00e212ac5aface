/// Who is watching, once ``CameraAccessMiddleware`` has let a request in: the identity in the request context.
public struct CameraViewer: Sendable, Hashable {
    /// The user's name.
    public var name: String
    /// The cameras the user may watch, by name; `nil` for every camera.
    public var cameras: Set<String>?
    /// Whether the request came in with a signed link instead of a password.
    public var bySignedLink: Bool

    /// Creates a viewer.
    public init(name: String, cameras: Set<String>?, bySignedLink: Bool = false) {
        self.name = name
        self.cameras = cameras
        self.bySignedLink = bySignedLink
    }

    /// Whether the user may watch a camera.
    public func mayWatch(_ camera: String) -> Bool {
        cameras?.contains(camera) ?? true
    }
}
