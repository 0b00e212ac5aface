/// What a request to the routes of ``MJPEGCameraIndex`` (mounted at the router's root) is about, as far as access
/// goes: which camera, and whether it is a stream or a snapshot.
struct CameraRequestTarget: Hashable {
    enum Kind: Hashable {
        case stream
        case snapshot
        case other
    }

    /// The camera, or `nil` for a route about no single camera (the page and status of several cameras) or an
    /// unknown path.
    var camera: String?
    var kind: Kind

    /// - Parameters:
    ///   - path: the request's path.
    ///   - action: the query's `action` value (mjpg-streamer's addresses).
    ///   - cameras: the index's camera names, in order; the first has the single-camera addresses.
    init(path: String, action: String?, cameras: [String]) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if components.count >= 2, components[0] == "cameras" {
            self.init(
                camera: cameras.contains(components[1]) ? components[1] : nil,
                kind: components.count == 2 ? Self.kind(of: action) : Self.kind(of: components[2...])
            )
        } else if components.isEmpty {
            switch MJPEGAction(query: action) {
            case .stream(let index): self.init(camera: Self.camera(index, of: cameras), kind: .stream)
            case .snapshot(let index): self.init(camera: Self.camera(index, of: cameras), kind: .snapshot)
            case nil, .invalid: self.init(camera: cameras.count == 1 ? cameras.first : nil, kind: .other)
            }
        } else {
            let kind = Self.kind(of: components[...])
            // The first camera's routes are at the root too: its playback, recordings and exports are about it.
            let aboutFirstCamera =
                kind != .other || (components == ["status"] && cameras.count == 1)
                || Self.archiveRoutes.contains(components[0])
            self.init(camera: aboutFirstCamera ? cameras.first : nil, kind: kind)
        }
    }

    init(camera: String?, kind: Kind) {
        self.camera = camera
        self.kind = kind
    }

    /// The first path components of a camera's archive routes (``MJPEGEndpoints`` with a `CameraArchive`), and of
    /// its controls.
    static let archiveRoutes: Set<String> = [
        "player", "playback", "recordings", "frame.jpg", "export.mkv", "export.mjpeg", "export.zip", "controls",
    ]

    private static func camera(_ index: Int?, of cameras: [String]) -> String? {
        let index = index ?? 0
        return cameras.indices.contains(index) ? cameras[index] : nil
    }

    private static func kind(of action: String?) -> Kind {
        switch MJPEGAction(query: action) {
        case .stream: .stream
        case .snapshot: .snapshot
        case nil, .invalid: .other
        }
    }

    private static func kind(of rest: ArraySlice<String>) -> Kind {
        guard rest.count == 1 else { return .other }
        switch rest.first {
        case "stream", "video_feed": return .stream
        case "snapshot.jpg", "snapshot": return .snapshot
        default: return .other
        }
    }
}
