public import AsyncHTTPClient
import Foundation
public import FrameStream
import NIOCore
import NIOHTTP1
import Synchronization

/// An upstream Motion-JPEG stream over HTTP as a camera: an IP camera, mjpg-streamer, ustreamer, or another
/// FrameStream server. One connection to the upstream feeds every viewer of this server.
///
/// The stream may be `multipart/x-mixed-replace` with any boundary, with or without `Content-Length`, or bare
/// concatenated JPEGs: images are cut out by their JPEG structure (`JPEGStreamSplitter`), and garbage between
/// them is skipped. A multipart stream's part headers are read too: a part whose `X-Frame-Sequence` is not newer
/// than the last frame's (the heartbeat re-send of another FrameStream server whose camera has stopped) is not a
/// new frame, nor is a part with `X-Placeholder` (the picture such a server shows while its camera has none);
/// `X-Timestamp` becomes the frame's capture time, and `X-Frame-Sequence` its number here too
/// (``JPEGImage/sourceSequence``), so that a relay's viewers see the origin's numbers.
///
/// Credentials in the URL (`http://user:password@host/…`) are sent as HTTP basic authentication, and never shown:
/// errors, status, logs and ``description`` show the address as `http://user:***@host/…`.
///
/// When the upstream fails, closes the stream, answers with something that is not an image stream, or sends no
/// new complete JPEG for the ``Configuration/stallTimeout``, the sequence throws an ``HTTPCameraError``, and the
/// broadcaster shows it in its status, logs it, and reconnects with backoff.
///
/// ```swift
/// let camera = try HTTPCamera(configuration: .init(url: "http://admin:secret@192.168.1.20/video.cgi"))
/// let broadcaster = FrameBroadcaster(source: camera, driverName: "http", logger: logger)
/// ```
public struct HTTPCamera: FrameSource, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where the stream is, and its limits.
    public let configuration: Configuration
    /// The HTTP client that connects to the upstream.
    ///
    /// The camera never shuts it down; see ``init(configuration:client:clock:)``.
    public let client: HTTPClient
    let address: StreamAddress
    let clock: FrameClock

    /// Creates the camera; nothing connects until it starts.
    ///
    /// The camera makes no HTTP client of its own, so there is none to leak: it uses the one it is given and
    /// never shuts it down. By default that is AsyncHTTPClient's `HTTPClient.shared`, the process-wide client
    /// that is made once, pools its connections and is meant to live as long as the program (it cannot be shut
    /// down). A program that wants its own settings (a proxy, TLS trust) passes its own client, and shuts it down
    /// once the broadcasters of all the cameras using it have stopped. The client's own timeouts do not matter
    /// much: the camera watches for a stalled upstream itself (``Configuration/stallTimeout``).
    /// - Parameters:
    ///   - configuration: the stream's address and limits.
    ///   - client: the HTTP client to use; `HTTPClient.shared` by default.
    ///   - clock: measures the stall timeout; tests pass a manual clock.
    /// - Throws: ``HTTPCameraError/invalidURL(_:)`` for an address that is not `http` or `https`.
    public init(
        configuration: Configuration,
        client: HTTPClient = .shared,
        clock: some Clock<Duration> = ContinuousClock()
    ) throws(HTTPCameraError) {
        self.address = try StreamAddress(configuration.url)
        self.configuration = configuration
        self.client = client
        self.clock = FrameClock(clock)
    }

    /// The stream's address as messages show it, its password and credential query values replaced by `***`.
    public var redactedURL: String { address.redacted }

    /// `HTTPCamera(http://user:***@host/…)`.
    public var description: String { "HTTPCamera(\(address.redacted))" }

    /// The same as ``description``: no secret in debug output either.
    public var debugDescription: String { description }

    /// The camera's configuration, redacted, for `dump` and debuggers.
    public var customMirror: Mirror {
        Mirror(self, children: ["configuration": configuration], displayStyle: .struct)
    }

    /// Connects and yields the upstream's new images until it fails or the iteration is cancelled.
    public func frames() -> Frames {
        Frames(camera: self)
    }

    /// One connection to the upstream.
    public struct Frames: AsyncSequence, Sendable {
        let camera: HTTPCamera

        /// Makes an iterator; it connects on its first `next()`.
        public func makeAsyncIterator() -> Iterator {
            Iterator(camera: camera)
        }

        /// Reads the upstream's body and cuts images out of it. Its copies share the connection.
        public struct Iterator: AsyncIteratorProtocol, Sendable {
            let camera: HTTPCamera
            /// The connection's state, moved into the task that reads while a stall timer runs beside it.
            private let connection: ConnectionSlot

            init(camera: HTTPCamera) {
                self.camera = camera
                self.connection = ConnectionSlot(
                    UpstreamConnection(
                        reader: UpstreamFrameReader(maximumFrameBytes: camera.configuration.maximumFrameBytes)
                    )
                )
            }

            /// The next new image; throws ``HTTPCameraError`` when the upstream fails, ends, or sends no new image
            /// within the stall timeout, and returns `nil` after that.
            public mutating func next() async throws -> JPEGImage? {
                let camera = camera
                let slot = connection
                let timeout = camera.configuration.stallTimeout
                let deadline = camera.clock.now() + timeout
                return try await withThrowingTaskGroup(of: ReadOutcome.self) { group in
                    group.addTask {
                        // Empty once the iteration has failed: the slot is filled again only after a frame, or
                        // for the message after a stall.
                        guard var connection = slot.take() else { return .finished }
                        do {
                            let image = try await connection.nextFrame(from: camera)
                            slot.put(connection)
                            return .frame(image)
                        } catch {
                            guard Task.isCancelled else { throw error }
                            slot.put(connection)
                            return .interrupted
                        }
                    }
                    group.addTask {
                        try await camera.clock.sleep(until: deadline)
                        return .stalled
                    }
                    defer { group.cancelAll() }
                    switch try await group.next() {
                    case .frame(let image):
                        return image
                    case .finished:
                        return nil
                    case .stalled:
                        group.cancelAll()
                        _ = try? await group.next()
                        let stalled = slot.take()
                        if stalled?.droppedOversizedImage == true {
                            throw HTTPCameraError.frameTooLarge(
                                camera.address.redacted,
                                limit: camera.configuration.maximumFrameBytes
                            )
                        }
                        if stalled?.sentPlaceholders == true {
                            throw HTTPCameraError.upstreamHasNoPicture(camera.address.redacted, within: timeout)
                        }
                        throw HTTPCameraError.noValidFrame(
                            camera.address.redacted,
                            within: timeout,
                            answered: stalled?.answered ?? false,
                            receivedBytes: stalled?.receivedBytes ?? 0,
                            repeatedFrame: stalled?.repeatedFrame
                        )
                    case .interrupted, nil:
                        throw CancellationError()
                    }
                }
            }
        }
    }

    /// Sends the request; returns the body of a successful answer that may be an image stream.
    func connect() async throws -> HTTPClientResponse.Body.AsyncIterator {
        var request = HTTPClientRequest(url: address.requestURL)
        if let authorization = address.authorization {
            request.headers.add(name: "Authorization", value: authorization)
        }
        request.headers.add(name: "Accept", value: "multipart/x-mixed-replace, image/jpeg, */*")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            try Task.checkCancellation()
            throw HTTPCameraError.connectionFailed(address.redacted, reason: address.scrub("\(error)"))
        }
        switch response.status.code {
        case 200..<300:
            if let contentType = response.headers.first(name: "content-type"), !Self.mayBeImages(contentType) {
                throw HTTPCameraError.notMotionJPEG(address.redacted, contentType: Self.printable(contentType))
            }
            return response.body.makeAsyncIterator()
        case 401, 403:
            throw HTTPCameraError.unauthorized(address.redacted, status: Int(response.status.code))
        default:
            throw HTTPCameraError.badStatus(address.redacted, status: Int(response.status.code))
        }
    }

    /// Whether a `Content-Type` may carry JPEGs: a multipart stream, an image, a Motion-JPEG video type, or bytes
    /// of no stated kind.
    static func mayBeImages(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        let mediaType = type.trimmingCharacters(in: .whitespaces).lowercased()
        return mediaType.hasPrefix("multipart/") || mediaType.hasPrefix("image/") || mediaType.hasPrefix("video/")
            || mediaType == "application/octet-stream" || mediaType.isEmpty
    }

    /// An upstream's header value as a message may show it: printable ASCII, at most 100 characters.
    static func printable(_ value: String) -> String {
        let printable = String(value.unicodeScalars.filter { (0x20..<0x7F).contains($0.value) }.prefix(100))
        return printable.count < value.unicodeScalars.count ? printable + "…" : printable
    }
}

/// What the reading task of one ``HTTPCamera/Frames/Iterator/next()`` ended with.
private enum ReadOutcome: Sendable {
    case frame(JPEGImage)
    /// The stall timer went off first.
    case stalled
    /// The read was cancelled; it left the connection in the slot, to tell what it had received.
    case interrupted
    /// The iteration had failed already.
    case finished
}

/// Holds a connection's state between reads, so that each read can run in a task of its own beside a stall timer.
/// A read takes the state out and puts it back after a frame; after a failure the slot stays empty.
private final class ConnectionSlot: Sendable {
    /// The state on its way from one read's task to the next.
    ///
    /// `@unchecked Sendable`, though the response body in it is not `Sendable`: the body must not be used by two
    /// tasks at once, and it never is. A value is either in the slot or in the one task that took it out
    /// (``take()`` empties the slot under the lock, and nothing keeps a copy), and the lock orders each hand-over
    /// before the next use.
    private struct Handover: @unchecked Sendable {
        var connection: UpstreamConnection
    }

    private let slot: Mutex<Handover?>

    init(_ connection: UpstreamConnection) {
        slot = Mutex(Handover(connection: connection))
    }

    /// The state, leaving the slot empty; `nil` if it is empty.
    func take() -> UpstreamConnection? {
        slot.withLock { $0.take() }?.connection
    }

    /// Puts the state back, for the next read.
    func put(_ connection: UpstreamConnection) {
        slot.withLock { $0 = Handover(connection: connection) }
    }
}
