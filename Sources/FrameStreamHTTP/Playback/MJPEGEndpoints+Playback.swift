import Foundation
import FrameStream
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import ServiceLifecycle

/// The routes of a camera with an archive: playback, its sessions and player, the listing, frames by time, exports.
extension MJPEGEndpoints {
    func addPlaybackRoutes<Context: RequestContext>(to routes: RouteCollection<Context>) {
        routes.getAndHead("player") { _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: PlayerPage.html(title: configuration.title, camera: cameraName))
                )
            )
        }
        routes.post("playback") { request, context in
            createSession(request, viewer: Self.viewerName(in: context))
        }
        routes.post("playback/:id") { request, context in
            control(request, id: context.parameters.get("id") ?? "", viewer: Self.viewerName(in: context))
        }
        routes.get("playback/:id/events") { request, context in
            events(request, id: context.parameters.get("id") ?? "", viewer: Self.viewerName(in: context))
        }
        routes.getAndHead("recordings") { request in recordings(request) }
        routes.getAndHead("frame.jpg") { request in frameResponse(request) }
        for format in ExportFormat.allCases {
            routes.getAndHead("export.\(format.rawValue)") { request in export(request, as: format) }
        }
    }

    /// The camera's name, for file names and the player's title.
    var cameraName: String {
        logger[metadataKey: "camera"].map { "\($0)" } ?? broadcaster.driverName
    }

    /// The viewer whom ``CameraAccessMiddleware`` let in, if the context has one.
    static func viewer(in context: some RequestContext) -> CameraViewer? {
        (context as? any AuthRequestContext<CameraViewer>)?.identity
    }

    /// The name of the user whom ``CameraAccessMiddleware`` let in, if the context has one.
    static func viewerName(in context: some RequestContext) -> String? {
        viewer(in: context)?.name
    }

    private static func query(of request: Request) -> [String: String] {
        Dictionary(
            request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    // MARK: Streams

    /// A playback stream when the query asks for one (`start`, `session`), else `nil` for the live stream.
    func playbackStream(for request: Request, query: [String: String], viewer: CameraViewer?) -> Response? {
        guard let archive else { return nil }
        let asksForThePast = ["session", "start", "rate", "end"].contains { query[$0] != nil }
        if asksForThePast, viewer?.bySignedLink == true {
            // A link shares the live view; the recordings need the user's password.
            return .plainText(.forbidden, "a signed link shows the live stream only: log in to play recordings")
        }
        let viewer = viewer?.name
        if let id = query["session"] {
            guard let playback = sessions.playback(id, owner: viewer) else {
                return .plainText(.notFound, "no playback session \(id.prefix(40)): make one with POST playback")
            }
            return playbackStreamResponse(playback, session: id, request: request)
        }
        guard query["start"] != nil || query["rate"] != nil || query["end"] != nil else { return nil }
        do {
            let playback = try makePlayback(archive: archive, query: query)
            return playbackStreamResponse(playback, session: nil, request: request)
        } catch let error as PlaybackQueryError {
            return Self.badRequest(error.description)
        } catch {
            return Self.badRequest("\(error)")
        }
    }

    /// A playback from a query's `start`, `rate` and `end`.
    private func makePlayback(archive: CameraArchive, query: [String: String]) throws -> Playback {
        let now = Date()
        let start = try query["start"].map { try PlaybackTime.micros($0, name: "start", now: now) }
        let end = try query["end"].map { try PlaybackTime.micros($0, name: "end", now: now) }
        if let start, let end, end < start { throw PlaybackQueryError.endBeforeStart }
        let rate = try query["rate"].map(PlaybackCommand.rate) ?? 1
        // A rate without a start plays from now: backwards or slowly from the newest frame.
        let from: Playback.Start = start.map { .micros($0) } ?? (rate == 1 ? .live : .micros(now.microsSince1970))
        return try Playback(
            history: archive.makeHistory(),
            broadcaster: broadcaster,
            start: from,
            rate: rate,
            end: end,
            configuration: .init(
                heartbeat: broadcaster.configuration.heartbeatInterval ?? .seconds(5),
                maxFramesPerSecond: min(
                    Playback.Configuration().maxFramesPerSecond,
                    configuration.maxFramesPerSecond ?? .infinity
                )
            )
        )
    }

    /// Streams a playback through the response body (a task per viewer: playbacks are few, and each is paced).
    private func playbackStreamResponse(_ playback: Playback, session: String?, request: Request) -> Response {
        var headers = Self.noCacheHeaders
        headers[.contentType] = stream.parts.encoder.contentType
        let slot: ViewerLimit.Slot
        switch admitViewer(request, headers: headers) {
        case .admitted(let admitted): slot = admitted
        case .answered(let response): return response
        }
        let logger = self.logger.with(path: Self.loggedPath(path: request.uri.path, query: request.uri.query))
        // With the connection handler there, it guards the connection as for a live stream (the stall drop, the
        // stream's socket settings); the body writes the playback.
        let handoff =
            request.headers[StreamHandoff.connectionField] == StreamHandoff.connectionMarker
            ? StreamHandoff(hub: nil, stallTimeout: configuration.stallTimeout, logger: logger, slot: slot) : nil
        headers[StreamHandoff.tokenField] = handoff?.tokenValue
        let encoder = stream.parts.encoder
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { [sessions] writer in
                if let session { sessions.stream(of: session, isOpen: true) }
                defer { if let session { sessions.stream(of: session, isOpen: false) } }
                logger.debug("playback viewer connected", metadata: ["session": "\(session != nil)"])
                try await Self.untilInboundClose(request) {
                    guard await handoff?.outcome() ?? .writeItYourself == .writeItYourself else { return }
                    try await writer.write(encoder.streamStart())
                    try await withGracefulShutdownHandler {
                        while let frame = await playback.nextFrame() {
                            try await writer.write(encoder.part(for: frame))
                        }
                    } onGracefulShutdown: {
                        playback.finish()
                    }
                }
                withExtendedLifetime((slot, handoff)) {}
                try await writer.finish(nil)
            }
        )
    }

    // MARK: Sessions

    private func createSession(_ request: Request, viewer: String?) -> Response {
        guard let archive else { return .plainText(.notFound, PlaybackError.noHistory.description) }
        let playback: Playback
        do {
            playback = try makePlayback(archive: archive, query: Self.query(of: request))
        } catch {
            return Self.badRequest("\(error)")
        }
        guard let id = sessions.create(playback, owner: viewer) else {
            return Self.unavailable("too many playback sessions (\(sessions.maximum)): try again later", retryAfter: 5)
        }
        var response = Self.jsonResponse(
            PlaybackSessionCreated(
                id: id,
                stream: "stream?session=\(id)",
                control: "playback/\(id)",
                events: "playback/\(id)/events"
            )
        )
        response.status = .created
        return response
    }

    private func control(_ request: Request, id: String, viewer: String?) -> Response {
        guard let playback = sessions.playback(id, owner: viewer) else {
            return .plainText(.notFound, "no playback session \(id.prefix(40)): make one with POST playback")
        }
        do {
            try PlaybackCommand(query: Self.query(of: request)).apply(to: playback)
        } catch let error as PlaybackQueryError {
            return Self.badRequest(error.description)
        } catch {
            return Self.badRequest("\(error)")
        }
        return Self.jsonResponse(PlaybackStateJSON(playback.playbackState))
    }

    /// Server-sent events with the session's state: at once, at every change, and every second.
    private func events(_ request: Request, id: String, viewer: String?) -> Response {
        guard let playback = sessions.playback(id, owner: viewer) else {
            return .plainText(.notFound, "no playback session \(id.prefix(40)): make one with POST playback")
        }
        var headers = Self.noCacheHeaders
        headers[.contentType] = "text/event-stream"
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { [sessions] writer in
                sessions.stream(of: id, isOpen: true)
                defer { sessions.stream(of: id, isOpen: false) }
                try await Self.untilInboundClose(request) {
                    try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                    let (states, continuation) = AsyncStream.makeStream(
                        of: PlaybackState.self,
                        bufferingPolicy: .bufferingNewest(1)
                    )
                    try await withThrowingDiscardingTaskGroup { group in
                        group.addTask {
                            for await state in playback.stateUpdates() { continuation.yield(state) }
                            continuation.finish()
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: .seconds(1))
                                continuation.yield(playback.playbackState)
                            }
                        }
                        try await withGracefulShutdownHandler {
                            for await state in states {
                                try await writer.write(Self.event(state))
                            }
                        } onGracefulShutdown: {
                            continuation.finish()
                        }
                        group.cancelAll()
                    }
                }
                try await writer.finish(nil)
            }
        )
    }

    private static func event(_ state: PlaybackState) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(PlaybackStateJSON(state))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ByteBuffer(string: "event: state\ndata: \(json)\n\n")
    }

    // MARK: Listing, frames, exports

    private func recordings(_ request: Request) -> Response {
        guard let archive else { return .plainText(.notFound, PlaybackError.noHistory.description) }
        let query = Self.query(of: request)
        let now = Date()
        let range: ClosedRange<Int64>
        do {
            let start = try query["start"].map { try PlaybackTime.micros($0, name: "start", now: now) } ?? .min
            let end = try query["end"].map { try PlaybackTime.micros($0, name: "end", now: now) } ?? .max
            guard start <= end else { throw PlaybackQueryError.endBeforeStart }
            range = start...end
        } catch {
            return Self.badRequest("\(error)")
        }
        let spans = archive.recording?.recordedSpans(overlapping: range) ?? []
        let timeshift = archive.timeshift?.spans(overlapping: range).first
        return Self.jsonResponse(
            RecordingsListing(
                spans: spans.map(RecordingsListing.Span.init),
                timeshift: timeshift.map(RecordingsListing.Span.init),
                now: PlaybackTime.format(now.microsSince1970)
            )
        )
    }

    private func frameResponse(_ request: Request) -> Response {
        guard let archive else { return .plainText(.notFound, PlaybackError.noHistory.description) }
        let micros: Int64
        do {
            guard let text = Self.query(of: request)["t"] else {
                return Self.badRequest("frame.jpg needs t=TIME (RFC 3339, Unix seconds, or relative: -30s)")
            }
            micros = try PlaybackTime.micros(text, name: "t")
        } catch {
            return Self.badRequest("\(error)")
        }
        guard let frame = archive.makeHistory().frame(atOrBefore: micros) else {
            return .plainText(.notFound, "no frame at or before \(PlaybackTime.format(micros))")
        }
        var headers = Self.noCacheHeaders
        headers[.contentType] = "image/jpeg"
        headers[Self.timestamp] = MJPEGPartEncoder.unixSeconds(micros: frame.captureMicros)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: frame.jpeg)))
    }

    private func export(_ request: Request, as format: ExportFormat) -> Response {
        guard let archive else { return .plainText(.notFound, PlaybackError.noHistory.description) }
        let query = Self.query(of: request)
        let range: ClosedRange<Int64>
        do {
            guard let startText = query["start"], let endText = query["end"] else {
                return Self.badRequest("export needs start=TIME and end=TIME")
            }
            let now = Date()
            let start = try PlaybackTime.micros(startText, name: "start", now: now)
            let end = try PlaybackTime.micros(endText, name: "end", now: now)
            guard start <= end else { throw PlaybackQueryError.endBeforeStart }
            range = start...end
        } catch {
            return Self.badRequest("\(error)")
        }
        let history = archive.makeHistory()
        guard let first = history.frame(atOrAfter: range.lowerBound), first.captureMicros <= range.upperBound else {
            return .plainText(
                .notFound,
                "nothing recorded from \(PlaybackTime.format(range.lowerBound)) to \(PlaybackTime.format(range.upperBound))"
            )
        }
        let last = history.frame(atOrBefore: range.upperBound) ?? first
        var headers = Self.noCacheHeaders
        headers[.contentType] = format.contentType(boundary: stream.parts.encoder.boundary)
        headers[.contentDisposition] =
            "attachment; filename=\"\(ExportFormat.fileName(camera: cameraName, start: first.captureMicros, end: last.captureMicros, format: format))\""
        let encoder = stream.parts.encoder
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { [logger] writer in
                var exporter = FrameExporter(format: format, first: first, last: last, encoder: encoder)
                var frames = 0
                try await writer.write(ByteBuffer(bytes: exporter.start()))
                for frame in history.frames(in: first.captureMicros...last.captureMicros) {
                    try await writer.write(ByteBuffer(bytes: exporter.add(frame)))
                    frames += 1
                }
                try await writer.write(ByteBuffer(bytes: exporter.finish()))
                logger.info("exported", metadata: ["format": "\(format.rawValue)", "frames": "\(frames)"])
                try await writer.finish(nil)
            }
        )
    }
}
