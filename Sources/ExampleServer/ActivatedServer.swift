import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// An HTTP server on a listening socket it was given (socket activation) rather than one it binds: what
/// Hummingbird's `Server` does, from `ServerBootstrap.bind(_:)` on. Connections are served by the same child channel
/// (HTTP/1.1, or TLS with HTTP/2) and the same router as on a port of its own, and a graceful shutdown quiesces them
/// the same way.
struct ActivatedServer<ChildChannel: ServerChildChannel>: Service {
    let socket: CInt
    let childChannel: ChildChannel
    let onServerRunning: @Sendable (any Channel) async -> Void
    let logger: Logger

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let childChannel = self.childChannel
        let logger = self.logger
        let server = try await bootstrap.bind(socket) { channel in
            childChannel.setup(channel: channel, logger: logger)
        }
        try await withGracefulShutdownHandler {
            await onServerRunning(server.channel)
            await withDiscardingTaskGroup { connections in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await childChannel.handle(value: connection, logger: logger) }
                        }
                    }
                } catch {
                    logger.error("accepting connections failed: \(error)")
                }
            }
        } onGracefulShutdown: {
            quiescing.initiateShutdown(promise: nil)
        }
    }
}

extension SocketActivation {
    /// The server on the passed socket, for a child channel of any type.
    static func server(
        socket: CInt,
        childChannel: any ServerChildChannel,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void,
        logger: Logger
    ) -> any Service {
        func server(of childChannel: some ServerChildChannel) -> any Service {
            ActivatedServer(
                socket: socket,
                childChannel: childChannel,
                onServerRunning: onServerRunning,
                logger: logger
            )
        }
        return server(of: childChannel)
    }

    /// What Hummingbird's `Application` answers each request with: the router's response (500 for an error that
    /// is no HTTP error), with the server's name, written by the response writer.
    static func responder<Responder: HTTPResponder>(
        _ router: Responder,
        serverName: String,
        logger: Logger
    ) -> HTTPChannelHandler.Responder
    where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        { (request, responseWriter: consuming ResponseWriter, channel) in
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let context = Responder.Context(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await router.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.server] = serverName
            do {
                try await responseWriter.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Not the parser error itself, which would make the channel answer again: the connection closes.
                throw ResponseNotWritten()
            }
        }
    }
}

/// A response could not be written because the request turned out malformed meanwhile.
private struct ResponseNotWritten: Error {}
