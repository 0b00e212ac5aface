import Foundation
import NIOCore

/// One simulated viewer on one connection: sends the request, parses the stream, and keeps its statistics. A slow
/// viewer reads no faster than its rate: reading is manual (`autoRead` off) and paced by a timer.
final class ViewerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let readRate: Int?
    private let started: Double
    private let warmUpEnds: Double
    private let endsAt: Double
    private var parser = StreamParser()
    private(set) var statistics = ViewerStatistics()
    private var bytesAllowedSince: Double = 0
    private var bytesReadSinceStart = 0
    private var pacing: RepeatedTask?

    init(host: String, port: Int, path: String, readRate: Int?, started: Double, warmUp: Double, endsAt: Double) {
        self.endsAt = endsAt
        request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: MJPEGBench\r\n\r\n"
        self.readRate = readRate
        self.started = started
        self.warmUpEnds = started + warmUp
        statistics.isSlow = readRate != nil
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        if let readRate {
            let start = Date().timeIntervalSince1970
            bytesAllowedSince = start
            context.read()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pacing = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) {
                _ in
                let (handler, context) = loopBound.value
                let allowed = Double(readRate) * (Date().timeIntervalSince1970 - start)
                if Double(handler.bytesReadSinceStart) < allowed { context.read() }
            }
        } else {
            context.fireChannelActive()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        statistics.bytes += buffer.readableBytes
        bytesReadSinceStart += buffer.readableBytes
        do {
            try parser.feed(buffer) { part in
                let now = Date().timeIntervalSince1970
                if statistics.frames == 0 { statistics.firstFrameAfter = now - started }
                if part.sequence <= statistics.lastSequence { statistics.duplicates += 1 }
                statistics.lastSequence = max(statistics.lastSequence, part.sequence)
                statistics.frames += 1
                if now >= warmUpEnds {
                    statistics.measuredFrames += 1
                    statistics.latencies.append(now - part.timestamp)
                }
            }
        } catch {
            statistics.error = "\(error)"
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if readRate == nil { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pacing?.cancel()
        if statistics.error == nil, Date().timeIntervalSince1970 < endsAt - 0.2 {
            statistics.error = "the server closed the connection"
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        statistics.error = "\(error)"
        context.close(promise: nil)
    }
}
