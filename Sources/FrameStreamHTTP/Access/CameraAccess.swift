public import Crypto
public import Foundation
import FrameStream
public import Hummingbird
public import HummingbirdAuth
public import Logging

/// Who may watch the cameras of an ``MJPEGCameraIndex``: users with passwords (HTTP Basic authentication, bcrypt
/// hashes), cameras open to some users only, signed links for `<img>`, a lockout for addresses that keep guessing,
/// and a cap on each address's open streams.
///
/// ```swift
/// let access = CameraAccess(users: users, signingKey: key, logger: logger)
/// let router = Router(context: CameraRequestContext.self)
/// router.get("healthz") { _, _ in "ok\n" }  // open to load balancers
/// let cameras = router.group().add(middleware: access.middleware(for: index))
/// cameras.addRoutes(index.routes(context: CameraRequestContext.self))
/// cameras.addRoutes(access.linkRoutes(for: index))
/// ```
///
/// The middleware expects the index mounted at the router's root, as above. With no users, it asks nobody for a
/// password and only applies ``Configuration/maxStreamsPerAddress``.
///
/// A signed link authorizes the start of a stream, not each frame: a stream opened with a link keeps running after
/// the link expires, until the viewer closes it.
public struct CameraAccess: Sendable {
    /// Limits of the access rules.
    public struct Configuration: Sendable, Hashable {
        /// The realm the browser shows when it asks for the password.
        public var realm: String
        /// When repeated wrong passwords slow an address down and lock it out.
        public var loginThrottle: LoginThrottle.Configuration
        /// The most open streams from one client address; `nil` for no limit.
        public var maxStreamsPerAddress: Int?
        /// The longest lifetime a signed link may ask for.
        public var maxLinkLifetime: Duration
        /// How long a good password is remembered before bcrypt checks it again.
        public var passwordCacheLifetime: Duration

        /// Creates a configuration.
        public init(
            realm: String = "FrameStream",
            loginThrottle: LoginThrottle.Configuration = .init(),
            maxStreamsPerAddress: Int? = nil,
            maxLinkLifetime: Duration = .seconds(366 * 86_400),
            passwordCacheLifetime: Duration = .seconds(300)
        ) {
            self.realm = realm
            self.loginThrottle = loginThrottle
            self.maxStreamsPerAddress = maxStreamsPerAddress
            self.maxLinkLifetime = maxLinkLifetime
            self.passwordCacheLifetime = passwordCacheLifetime
        }
    }

    /// The users and their cameras.
    public let users: CameraUsers
    /// The limits.
    public let configuration: Configuration
    /// The lockout of addresses that keep guessing.
    public let throttle: LoginThrottle
    let signer: StreamLinkSigner
    let passwords: VerifiedPasswords
    let streams: StreamsPerAddress?
    let now: @Sendable () -> Date
    let logger: Logger

    /// Creates the access rules.
    /// - Parameters:
    ///   - users: the users; none for a server open to everyone.
    ///   - signingKey: the key of signed links; a new key invalidates every link made with the old one.
    ///   - configuration: limits.
    ///   - now: the wall-clock time, which links expire by; tests pass their own.
    ///   - uptime: a monotonic time, which lockouts and remembered passwords count by (`nil`: the time since this
    ///     call); tests pass their own.
    ///   - logger: where failed logins and lockouts are logged (warning level, with the address and user name,
    ///     never a password).
    public init(
        users: CameraUsers,
        signingKey: SymmetricKey,
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> Date = { Date() },
        uptime: (@Sendable () -> Duration)? = nil,
        logger: Logger
    ) {
        let start = ContinuousClock.now
        let uptime = uptime ?? { ContinuousClock.now - start }
        self.users = users
        self.configuration = configuration
        self.signer = StreamLinkSigner(key: signingKey)
        self.throttle = LoginThrottle(configuration: configuration.loginThrottle, uptime: uptime)
        self.passwords = VerifiedPasswords(
            hashes: users.passwordHashes,
            lifetime: configuration.passwordCacheLifetime,
            uptime: uptime
        )
        self.streams = configuration.maxStreamsPerAddress.map(StreamsPerAddress.init(maximum:))
        self.now = now
        self.logger = logger
    }

    /// The middleware that applies these rules to the routes of `index`, mounted at the router's root.
    public func middleware<Context: AuthRequestContext<CameraViewer> & RemoteAddressRequestContext>(
        for index: MJPEGCameraIndex,
        context: Context.Type = CameraRequestContext.self
    ) -> CameraAccessMiddleware<Context> {
        CameraAccessMiddleware(
            access: self,
            cameras: index.cameras.map(\.name),
            metrics: Dictionary(
                index.cameras.map { ($0.name, $0.endpoints.broadcaster.metrics) },
                uniquingKeysWith: { first, _ in first }
            )
        )
    }

    /// `GET /cameras/NAME/link?expires=SECONDS` (default 3600): signed links to the camera's stream and snapshot
    /// for the user who asks, as JSON ``StreamLinks``. Behind ``middleware(for:context:)``.
    public func linkRoutes<Context: AuthRequestContext<CameraViewer>>(
        for index: MJPEGCameraIndex,
        context: Context.Type = CameraRequestContext.self
    ) -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        for camera in index.cameras.map(\.name) {
            routes.get("cameras/\(camera)/link") { request, context in
                links(camera: camera, request: request, viewer: context.identity)
            }
        }
        return routes
    }

    /// The links of `camera` for `viewer`, or `400` for a bad `expires`, or `403` for a request that came with a
    /// signed link itself.
    func links(camera: String, request: Request, viewer: CameraViewer?) -> Response {
        let maximum = Int(configuration.maxLinkLifetime.components.seconds)
        let requested = request.uri.queryParameters.get("expires") ?? "3600"
        guard let seconds = Int(requested), seconds > 0, seconds <= maximum else {
            return Response.plainText(.badRequest, "expires must be a number of seconds from 1 to \(maximum)")
        }
        let stream = "/cameras/\(camera)/stream"
        let snapshot = "/cameras/\(camera)/snapshot.jpg"
        guard let viewer else {
            guard users.isEmpty else {
                // The routes were mounted without the middleware in front: nobody was checked.
                return Response.plainText(.unauthorized, "links need a user: mount the routes behind middleware(for:)")
            }
            // No users: every address works without a signature.
            return MJPEGEndpoints.jsonResponse(StreamLinks(stream: stream, snapshot: snapshot, expires: nil))
        }
        // The middleware does not take a link's signature on this route; if another one did, a link must still not
        // make links that outlive it.
        guard !viewer.bySignedLink else {
            return Response.plainText(
                .forbidden,
                "a signed link cannot make links: log in with a user name and password"
            )
        }
        let expires = Int(now().timeIntervalSince1970) + seconds
        let subject = linkSubject(viewer.name)
        return MJPEGEndpoints.jsonResponse(
            StreamLinks(
                stream: stream + "?" + signer.query(path: stream, expires: expires, user: subject),
                snapshot: snapshot + "?" + signer.query(path: snapshot, expires: expires, user: subject),
                expires: expires
            )
        )
    }

    /// What a link of `user` is signed for: the user and the user's password hash, so that a new password (or
    /// removing the user) ends the links made before it. The key is secret, so the signature tells nothing of the
    /// hash.
    func linkSubject(_ user: String) -> String {
        "\(user)\u{0}\(users.passwordHashes[user] ?? "")"
    }

    /// The user whose link `subject` is, for checking a link against every user.
    var linkSubjects: [(subject: String, user: String)] {
        users.names.map { (linkSubject($0), $0) }
    }
}

/// What `GET /cameras/NAME/link` returns, as JSON.
public struct StreamLinks: Sendable, Codable, Hashable {
    /// The stream's path with its signature.
    public var stream: String
    /// The snapshot's path with its signature.
    public var snapshot: String
    /// When the links stop working, in Unix seconds; `nil` on a server without users, where the plain paths work.
    public var expires: Int?

    /// Creates the links.
    public init(stream: String, snapshot: String, expires: Int?) {
        self.stream = stream
        self.snapshot = snapshot
        self.expires = expires
    }

    enum CodingKeys: CodingKey {
        case stream, snapshot, expires
    }

    /// Encodes `expires` as `null` when there is none, rather than leaving it out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stream, forKey: .stream)
        try container.encode(snapshot, forKey: .snapshot)
        try container.encode(expires, forKey: .expires)
    }
}
