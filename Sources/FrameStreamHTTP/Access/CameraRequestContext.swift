public import Hummingbird
public import HummingbirdAuth
public import NIOCore

/// A request context with what ``CameraAccessMiddleware`` needs: the viewer it let in, and the client's address.
///
/// ```swift
/// let router = Router(context: CameraRequestContext.self)
/// ```
public struct CameraRequestContext: AuthRequestContext, RemoteAddressRequestContext, RequestContext {
    /// Hummingbird's own part of the context.
    public var coreContext: CoreRequestContextStorage
    /// The viewer the access middleware let in; `nil` on a server without users.
    public var identity: CameraViewer?
    /// The client's address (for HTTP/2, the connection's).
    public let remoteAddress: SocketAddress?

    /// Creates the context of a request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        remoteAddress = source.channel.remoteAddress
    }
}
