import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP2
import NIOHTTPTypesHTTP1

/// A server child channel that closes a connection whose TLS handshake and protocol choice (HTTP/1.1 or HTTP/2)
/// have not finished within a deadline, so that connections that send nothing cannot pile up before Hummingbird's
/// own timeouts (which start once the protocol is chosen) apply to them.
struct TLSHandshakeDeadline<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let deadline: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let check = channel.eventLoop.assumeIsolated().scheduleTask(in: deadline) {
            let pipeline = channel.pipeline.syncOperations
            let chosen =
                (try? pipeline.handler(type: NIOHTTP2Handler.self)) != nil
                || (try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self)) != nil
            if !chosen {
                logger.debug("closing a connection that did not finish its TLS handshake in time")
                channel.close(promise: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in check.cancel() }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
