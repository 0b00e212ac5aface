import Hummingbird
import Logging
import ServiceLifecycle
import Testing

/// A Hummingbird server on port 0 with routes a test defines, standing in for an IP camera or mjpg-streamer.
enum UpstreamServer {
    static func run<Result: Sendable>(
        routes: (Router<BasicRequestContext>) -> Void,
        _ body: @Sendable (_ baseURL: String) async throws -> Result
    ) async throws -> Result {
        let router = Router()
        routes(router)
        return try await serve(router) { port in try await body("http://127.0.0.1:\(port)") }
    }

    /// Serves `router`, with `services` beside it, on a free port until `body` returns, then shuts down.
    static func serve<Result: Sendable>(
        _ router: Router<BasicRequestContext>,
        services: [any Service] = [],
        _ body: @Sendable (_ port: Int) async throws -> Result
    ) async throws -> Result {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: quietLogger
        )
        app.addServices(services)
        var configuration = ServiceGroupConfiguration(services: [app], logger: quietLogger)
        configuration.maximumGracefulShutdownDuration = .seconds(1)
        let group = ServiceGroup(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next())
            let result = try await body(port)
            // Shut down gracefully and wait: cancelling at once can catch a connection accepted but not yet served
            // (a camera reconnecting), which traps in NIO ("Deinited NIOAsyncWriter without calling finish()").
            // The graceful shutdown closes the listener first; an endless response is cut after a second.
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return result
        }
    }
}
