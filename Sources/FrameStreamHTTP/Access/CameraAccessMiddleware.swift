import Foundation
import FrameStream
import HTTPTypes
public import Hummingbird
public import HummingbirdAuth
import Logging
import NIOCore

/// Applies ``CameraAccess``'s rules to each request: made by ``CameraAccess/middleware(for:context:)``.
///
/// | request | answer |
/// | --- | --- |
/// | no `Authorization` header, or a wrong user name or password | `401` with `WWW-Authenticate: Basic` |
/// | a user who may not watch the camera the route is about | `403` |
/// | a stream or snapshot with `exp` and `sig` that are expired, tampered with or for another path | `403` |
/// | an address locked out after repeated wrong passwords | `429` with `Retry-After` |
/// | an address with ``CameraAccess/Configuration/maxStreamsPerAddress`` streams open, asking for another | `429` |
///
/// A request it lets in carries the ``CameraViewer`` in the context's `identity`.
public struct CameraAccessMiddleware<Context: AuthRequestContext<CameraViewer> & RemoteAddressRequestContext>:
    RouterMiddleware
{
    let access: CameraAccess
    let cameras: [String]
    /// Where refusals are counted, by camera.
    let metrics: [String: CameraMetrics]

    /// Lets the request in, or answers it with the refusal in the table above.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.identity = nil
        // An open server without a stream limit has nothing to check.
        guard !access.users.isEmpty || access.streams != nil else { return try await next(request, context) }
        let query = request.uri.queryParameters
        let target = CameraRequestTarget(path: request.uri.path, action: query.get("action"), cameras: cameras)
        let address = Self.address(of: context)
        if !access.users.isEmpty {
            let viewer: CameraViewer
            switch await authenticate(request, address: address, target: target) {
            case .success(let authenticated): viewer = authenticated
            case .failure(let refusal): return counted(refusal.response, camera: target.camera)
            }
            if let camera = target.camera, !viewer.mayWatch(camera) {
                return counted(
                    Response.plainText(.forbidden, "user '\(viewer.name)' may not watch camera '\(camera)'"),
                    camera: camera
                )
            }
            context.identity = viewer
        }
        guard target.kind == .stream, request.method == .get, let streams = access.streams else {
            return try await next(request, context)
        }
        guard let slot = streams.admit(address) else {
            access.logger.notice(
                "stream refused: the address has \(streams.maximum) streams open already",
                metadata: ["address": "\(address)"]
            )
            return counted(
                Response.plainText(
                    .tooManyRequests,
                    "too many streams from this address (\(streams.maximum)): close one first",
                    headers: [.retryAfter: "5"]
                ),
                camera: target.camera
            )
        }
        var response = try await next(request, context)
        // The stream holds its place until its body ends, which is when the stream does.
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(writer)
            withExtendedLifetime(slot) {}
        }
        return response
    }

    /// A refusal, counted in the camera's metrics when the request is about one.
    private func counted(_ refusal: Response, camera: String?) -> Response {
        if let camera { metrics[camera]?.countRefusal(status: refusal.status.code) }
        return refusal
    }

    /// Why a request was not let in, as the answer to send.
    struct Refusal: Error {
        let response: Response
    }

    private func authenticate(
        _ request: Request,
        address: String,
        target: CameraRequestTarget
    ) async -> Result<CameraViewer, Refusal> {
        let query = request.uri.queryParameters
        if let signature = query.get("sig"), target.kind != .other {
            return verifyLink(request.uri.path, expires: query.get("exp"), signature: signature)
        }
        if let remaining = access.throttle.lockout(of: address) {
            return .failure(Self.lockedOut(for: remaining))
        }
        guard let basic = request.headers.basic else {
            return .failure(unauthorized("this server needs a user name and password"))
        }
        let verdict = (try? await access.passwords.verify(user: basic.username, password: basic.password)) ?? .wrong
        guard verdict != .wrong else {
            return .failure(await failedLogin(user: basic.username, address: address))
        }
        if verdict == .verified {
            // Once per user and password lifetime, not per request: who came in, from where.
            access.logger.info("login", metadata: ["user": "\(basic.username)", "address": "\(address)"])
        }
        access.throttle.recordSuccess(from: address)
        return .success(viewer(basic.username, bySignedLink: false))
    }

    private func verifyLink(_ path: String, expires: String?, signature: String) -> Result<CameraViewer, Refusal> {
        let subjects = access.linkSubjects
        let verdict = access.signer.verify(
            path: path,
            expires: expires,
            signature: signature,
            users: subjects.map(\.subject),
            now: access.now()
        )
        switch verdict {
        case .valid(let subject):
            let user = subjects.first { $0.subject == subject }?.user ?? ""
            return .success(viewer(user, bySignedLink: true))
        case .expired:
            return .failure(
                Refusal(response: Response.plainText(.forbidden, "the link has expired: ask for a new one"))
            )
        case .invalid:
            return .failure(
                Refusal(
                    response: Response.plainText(
                        .forbidden,
                        "the link's signature is not valid for this address: ask for a new link"
                    )
                )
            )
        }
    }

    private func failedLogin(user: String, address: String) async -> Refusal {
        let shownUser = String(user.unicodeScalars.filter { $0.properties.generalCategory != .control }.prefix(64))
        switch access.throttle.recordFailure(from: address) {
        case .lockedOut(let duration, let failures):
            access.logger.warning(
                "login failed: locking the address out for \(duration.secondsDescription) after \(failures) failures",
                metadata: ["address": "\(address)", "user": "\(shownUser)"]
            )
            return Self.lockedOut(for: duration)
        case .retry(let delay, let failures):
            access.logger.warning(
                "login failed: wrong user name or password",
                metadata: ["address": "\(address)", "user": "\(shownUser)", "failures": "\(failures)"]
            )
            if delay > .zero { try? await Task.sleep(for: delay) }
            return unauthorized("wrong user name or password")
        }
    }

    private func viewer(_ name: String, bySignedLink: Bool) -> CameraViewer {
        CameraViewer(name: name, cameras: access.users.cameras(for: name, of: cameras), bySignedLink: bySignedLink)
    }

    private func unauthorized(_ reason: String) -> Refusal {
        let realm = access.configuration.realm.replacingOccurrences(of: "\"", with: "'")
        return Refusal(
            response: Response.plainText(
                .unauthorized,
                reason,
                headers: [.wwwAuthenticate: "Basic realm=\"\(realm)\", charset=\"UTF-8\""]
            )
        )
    }

    private static func lockedOut(for remaining: Duration) -> Refusal {
        let (whole, fraction) = remaining.components
        let seconds = max(1, Int(whole) + (fraction > 0 ? 1 : 0))
        return Refusal(
            response: Response.plainText(
                .tooManyRequests,
                "too many failed logins from this address: try again in \(seconds) s",
                headers: [.retryAfter: "\(seconds)"]
            )
        )
    }

    /// The client's IP address without its port, the key of lockouts and stream limits.
    static func address(of context: Context) -> String {
        guard let remote = context.remoteAddress else { return "unknown" }
        return remote.ipAddress ?? remote.pathname ?? "unknown"
    }
}
