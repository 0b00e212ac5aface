import Foundation
import FrameStream
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The routes of a camera's controls: `GET controls` lists them, `POST controls` sets them.
extension MJPEGEndpoints {
    /// The most bytes `POST controls` reads.
    static let controlsBodyLimit = 64 * 1024

    func addControlRoutes<Context: RequestContext>(to routes: RouteCollection<Context>) {
        routes.getAndHead("controls") { _ in await controlsResponse() }
        routes.post("controls") { request, context in
            await setControlsResponse(request, viewer: Self.viewer(in: context))
        }
    }

    /// The camera's controls as JSON, `404` for a camera without them, or `503` when the camera cannot be reached.
    func controlsResponse() async -> Response {
        guard let controls = broadcaster.controls else { return Self.noControls }
        do {
            return Self.jsonResponse(CameraControlsJSON(try await controls.currentControls()))
        } catch {
            return Self.response(for: error)
        }
    }

    /// Sets the controls in the request's JSON body for a signed-in user, and answers the controls afterwards.
    func setControlsResponse(_ request: Request, viewer: CameraViewer?) async -> Response {
        guard let viewer, !viewer.bySignedLink else {
            // With users, the access middleware has asked for a password already: no viewer means no users.
            return .plainText(
                .forbidden,
                "changing camera controls needs a signed-in user, and this server has none: configure users "
                    + "(users: in the configuration file, or --user; see the README)"
            )
        }
        guard let controls = broadcaster.controls else { return Self.noControls }
        var request = request
        guard let buffer = try? await request.collectBody(upTo: Self.controlsBodyLimit),
            let values = CameraControlValues.parse(Data(buffer.readableBytesView))
        else {
            return Self.badRequest(
                "the body must be a JSON object of control names to whole numbers or booleans, such as "
                    + "{\"brightness\": 10, \"white_balance_automatic\": false} (GET controls lists them)"
            )
        }
        do {
            let result = try await controls.setControls(values)
            let shown = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            logger.info("camera controls set", metadata: ["user": "\(viewer.name)", "controls": "\(shown)"])
            return Self.jsonResponse(CameraControlsJSON(result))
        } catch {
            return Self.response(for: error)
        }
    }

    private static var noControls: Response {
        .plainText(.notFound, "this camera has no controls: only V4L2 cameras (driver v4l2) have them")
    }

    private static func response(for error: CameraControlError) -> Response {
        switch error {
        case .unknownControl, .valueOutOfRange, .readOnly:
            badRequest(error.description)
        case .refused:
            .plainText(.conflict, error.description)
        case .unavailable:
            unavailable(error.description, retryAfter: 5)
        }
    }
}
