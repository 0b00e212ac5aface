public import FrameStream
public import NIOCore

import struct Foundation.Date

/// Delivers one viewer's Motion-JPEG stream: the per-viewer loop, free of any HTTP framework.
///
/// It writes one part at a time and asks for the next frame only when the write has returned, so a viewer whose
/// connection is slower than the camera gets the newest frame each time instead of a backlog. With a frame-rate
/// cap it waits out the interval first and then takes the newest frame, so the frames it sends are fresh and
/// evenly spaced. When the camera delivers nothing for the broadcaster's heartbeat interval it sends the last part
/// again, the only case in which a viewer sees a frame twice, so that proxies and browsers keep the connection.
public struct MJPEGViewerStream: Sendable {
    /// The parts, shared by all viewers of this writer.
    let parts: MJPEGPartCache
    private let clock: FrameClock

    /// Creates a stream writer; every viewer it serves shares each frame's part, built once.
    /// - Parameters:
    ///   - encoder: how parts are written (the boundary).
    ///   - clock: paces capped viewers; tests pass a manual clock.
    public init(encoder: MJPEGPartEncoder = MJPEGPartEncoder(), clock: some Clock<Duration> = ContinuousClock()) {
        self.init(parts: MJPEGPartCache(encoder: encoder), clock: clock)
    }

    /// A stream writer on a cache shared with others (the endpoints' fast path).
    package init(parts: MJPEGPartCache, clock: some Clock<Duration> = ContinuousClock()) {
        self.parts = parts
        self.clock = FrameClock(clock)
    }

    /// How parts are written: the `Content-Type` of the response comes from it.
    public var encoder: MJPEGPartEncoder { parts.encoder }

    /// Writes the stream until the subscription ends, the task is cancelled, or a write throws.
    /// - Parameters:
    ///   - subscription: the viewer's frames.
    ///   - options: the viewer's frame-rate cap.
    ///   - write: hands bytes to the connection; it should return only when the connection can take more.
    public func run(
        _ subscription: FrameSubscription,
        options: StreamOptions = StreamOptions(),
        write: (ByteBuffer) async throws -> Void
    ) async throws {
        var statistics = ViewerStatistics()
        try await run(subscription, options: options, statistics: &statistics, write: write)
    }

    /// ``run(_:options:write:)``, counting what it sends in `statistics`.
    func run(
        _ subscription: FrameSubscription,
        options: StreamOptions,
        statistics: inout ViewerStatistics,
        write: (ByteBuffer) async throws -> Void
    ) async throws {
        let start = parts.encoder.streamStart()
        statistics.countStart(bytes: start.readableBytes)
        try await write(start)
        var events = subscription.makeAsyncIterator()
        var lastPart: ByteBuffer?
        let interval = options.minimumFrameInterval
        var nextAllowed = clock.now()
        while true {
            if interval != nil, nextAllowed > clock.now() {
                try await clock.sleep(until: nextAllowed)
            }
            guard let event = await events.nextEvent() else { return }
            let part: ByteBuffer
            var captureTime: Date?
            switch event {
            case .frame(let frame):
                statistics.countFrame(sequence: frame.sequence)
                part = parts.part(for: frame).body
                captureTime = frame.captureTime
                lastPart = part
            case .noNewFrame:
                guard let lastPart else { continue }
                part = lastPart
            case .placeholder(let placeholder):
                part = parts.encoder.framedPart(for: placeholder).body
            }
            try await write(part)
            statistics.countSent(bytes: part.readableBytes, frameCapturedAt: captureTime)
            if let interval {
                // Keep to the schedule; after a long gap (camera down) start a new one instead of bursting.
                let sentAt = clock.now()
                nextAllowed += interval
                if nextAllowed < sentAt {
                    nextAllowed = sentAt + interval
                }
            }
        }
    }
}
