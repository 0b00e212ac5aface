import Foundation
public import Hummingbird
import HummingbirdAuth

/// The routes of a server with several cameras: each camera's routes under `cameras/NAME/`, one page with every
/// camera, the status of all of them, and the first camera at the single-camera addresses that dashboards use.
///
/// | route | what it serves |
/// | --- | --- |
/// | `GET /` | every camera in a grid of `<img>` (one camera: its page) |
/// | `GET /status` | every camera's status by name (one camera: its status) |
/// | `GET /cameras/NAME/…` | the camera's routes (``MJPEGEndpoints``) |
/// | `GET /video_feed`, `/stream`, `/snapshot.jpg`, `/snapshot` | the first camera |
/// | `GET /?action=stream`, `?action=snapshot` | the first camera, at mjpg-streamer's addresses |
/// | `GET /?action=stream_N`, `?action=snapshot_N` | camera N, counted from 0 in the order given |
///
/// ```swift
/// let index = MJPEGCameraIndex(cameras: [.init(name: "front", endpoints: front), .init(name: "garage", endpoints: garage)])
/// router.addRoutes(index.routes())
/// ```
public struct MJPEGCameraIndex: Sendable {
    /// A camera and the name its routes are mounted under.
    public struct Camera: Sendable {
        /// The name in the camera's addresses (`/cameras/NAME/`): letters, digits, `-`, `_` and `.`.
        public var name: String
        /// The camera's endpoints.
        public var endpoints: MJPEGEndpoints

        /// Creates a camera entry.
        public init(name: String, endpoints: MJPEGEndpoints) {
            self.name = name
            self.endpoints = endpoints
        }
    }

    /// The cameras, in the order given; the first one also has the single-camera addresses.
    public let cameras: [Camera]
    /// The title of the page with every camera.
    public let title: String

    /// Creates the index of some cameras.
    /// - Parameters:
    ///   - cameras: at least one camera, names unique.
    ///   - title: the title of the page with every camera.
    public init(cameras: [Camera], title: String = "FrameStream") {
        precondition(!cameras.isEmpty, "a camera index needs at least one camera")
        precondition(Set(cameras.map(\.name)).count == cameras.count, "camera names must be unique")
        self.cameras = cameras
        self.title = title
    }

    /// The routes in the table above.
    public func routes<Context: RequestContext>(
        context: Context.Type = BasicRequestContext.self
    ) -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        for camera in cameras {
            routes.addRoutes(camera.endpoints.routes(context: Context.self), atPath: "cameras/\(camera.name)")
        }
        routes.addRoutes(cameras[0].endpoints.routes(context: Context.self, page: false, status: false))
        routes.getAndHead("") { request, context -> Response in
            let action = request.uri.queryParameters.get("action")
            switch MJPEGAction(query: action) {
            case nil:
                return page(for: request, viewer: Self.viewer(in: context))
            case .stream(let index):
                guard let camera = camera(index) else { break }
                return camera.endpoints.streamResponse(for: request, viewer: Self.viewer(in: context))
            case .snapshot(let index):
                guard let camera = camera(index) else { break }
                return await camera.endpoints.snapshotResponse(for: request)
            case .invalid:
                break
            }
            return MJPEGEndpoints.badRequest(MJPEGAction.unknown(action ?? "", cameras: cameras.count))
        }
        routes.getAndHead("status") { _, context in statusResponse(viewer: Self.viewer(in: context)) }
        return routes
    }

    /// The viewer that ``CameraAccessMiddleware`` let in, if the context has one.
    private static func viewer(in context: some RequestContext) -> CameraViewer? {
        (context as? any AuthRequestContext<CameraViewer>)?.identity
    }

    /// The page with every camera (that `viewer` may watch), or with one camera its own page.
    public func page(for request: Request, viewer: CameraViewer? = nil) -> Response {
        guard cameras.count > 1 else { return cameras[0].endpoints.page(for: request) }
        let base = CameraPage.base(of: request.uri.path)
        let visible = cameras(visibleTo: viewer)
        guard !visible.isEmpty else {
            return Response.plainText(.forbidden, "user '\(viewer?.name ?? "")' may watch none of these cameras")
        }
        let html = CameraGridPage.html(
            title: title,
            cameras: visible.map { (name: $0.name, path: "\(base)cameras/\($0.name)/") }
        )
        return Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// Every camera's status by name as JSON (of the cameras `viewer` may watch), or with one camera its own
    /// status.
    public func statusResponse(viewer: CameraViewer? = nil) -> Response {
        guard cameras.count > 1 else { return cameras[0].endpoints.statusResponse() }
        let visible = cameras(visibleTo: viewer)
        let status = CameraIndexStatus(
            cameras: Dictionary(uniqueKeysWithValues: visible.map { ($0.name, $0.endpoints.status()) })
        )
        return MJPEGEndpoints.jsonResponse(status)
    }

    /// The cameras `viewer` may watch; all of them without a viewer (a server without users).
    private func cameras(visibleTo viewer: CameraViewer?) -> [Camera] {
        cameras.filter { viewer?.mayWatch($0.name) ?? true }
    }

    private func camera(_ index: Int?) -> Camera? {
        let index = index ?? 0
        return cameras.indices.contains(index) ? cameras[index] : nil
    }
}

/// What `GET /status` returns on a server with several cameras, as JSON.
public struct CameraIndexStatus: Sendable, Codable, Hashable {
    /// Each camera's status, by the name in its addresses.
    public var cameras: [String: ServerStatus]
}
