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
/// concatenated JPEGs: images are cut out by their JPEG structure (``JPEGStreamSplitter``), and garbage between
/// them is skipped. Credentials in the URL (`http://user:password@host/…`) are sent as HTTP basic authentication.
/// When the upstream fails or closes the stream, the sequence throws, and the broadcaster reconnects with backoff.
public struct HTTPCamera: FrameSource {
    /// Where the stream is and how long it may be silent.
    public struct Configuration: Sendable, Hashable {
        /// The stream's address, such as `http://192.168.1.20:8080/?action=stream`.
        public var url: String
        /// How long the upstream may send nothing before the connection counts as dead.
        public var readTimeout: Duration
        /// The largest image accepted.
        public var maximumFrameSize: Int

        /// Creates a configuration.
        public init(url: String, readTimeout: Duration = .seconds(10), maximumFrameSize: Int = 16 << 20) {
            self.url = url
            self.readTimeout = readTimeout
            self.maximumFrameSize = maximumFrameSize
        }
    }

    /// Where the stream is.
    public let configuration: Configuration
    private let address: String
    private let authorization: String?
    private let client: HTTPClient

    /// Creates the camera; nothing connects until it starts.
    /// - Parameters:
    ///   - configuration: the stream's address and limits.
    ///   - client: the HTTP client to use; by default one shared by all HTTP cameras, whose read timeout is the
    ///     configuration's.
    /// - Throws: ``HTTPCameraError/invalidURL(_:)`` for an address that is not `http` or `https`.
    public init(configuration: Configuration, client: HTTPClient? = nil) throws {
        guard var components = URLComponents(string: configuration.url),
            let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme), components.host != nil
        else { throw HTTPCameraError.invalidURL(configuration.url) }
        if let user = components.user {
            let credentials =
                "\(user.removingPercentEncoding ?? user):"
                + (components.password.map { $0.removingPercentEncoding ?? $0 } ?? "")
            authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
            components.user = nil
            components.password = nil
        } else {
            authorization = nil
        }
        self.address = components.string ?? configuration.url
        self.configuration = configuration
        self.client = client ?? HTTPCamera.sharedClient(readTimeout: configuration.readTimeout)
    }

    /// Connects and yields the upstream's images until it fails or the iteration is cancelled.
    public func frames() -> Frames {
        Frames(camera: self)
    }

    /// One connection to the upstream.
    public struct Frames: AsyncSequence, Sendable {
        let camera: HTTPCamera

        /// Makes an iterator; it connects on its first `next()`.
        public func makeAsyncIterator() -> Iterator {
            Iterator(
                camera: camera,
                splitter: JPEGStreamSplitter(maximumFrameSize: camera.configuration.maximumFrameSize)
            )
        }

        /// Reads the upstream's body and cuts images out of it.
        public struct Iterator: AsyncIteratorProtocol {
            let camera: HTTPCamera
            var splitter: JPEGStreamSplitter
            var body: HTTPClientResponse.Body.AsyncIterator?

            /// The next image; throws ``HTTPCameraError`` when the upstream fails or ends.
            public mutating func next() async throws -> JPEGImage? {
                if body == nil {
                    body = try await camera.connect()
                }
                while true {
                    if let image = splitter.nextImage() {
                        return JPEGImage(bytes: image)
                    }
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await body!.next()
                    } catch {
                        try Task.checkCancellation()
                        throw HTTPCameraError.connectionFailed(camera.configuration.url, reason: "\(error)")
                    }
                    guard let chunk else { throw HTTPCameraError.streamEnded(camera.configuration.url) }
                    splitter.append(chunk.readableBytesView)
                }
            }
        }
    }

    private func connect() async throws -> HTTPClientResponse.Body.AsyncIterator {
        var request = HTTPClientRequest(url: address)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.headers.add(name: "Accept", value: "multipart/x-mixed-replace, image/jpeg, */*")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            try Task.checkCancellation()
            throw HTTPCameraError.connectionFailed(configuration.url, reason: "\(error)")
        }
        switch response.status.code {
        case 200..<300:
            return response.body.makeAsyncIterator()
        case 401, 403:
            throw HTTPCameraError.unauthorized(configuration.url, status: Int(response.status.code))
        default:
            throw HTTPCameraError.badStatus(configuration.url, status: Int(response.status.code))
        }
    }

    /// One client per read timeout, shared by the cameras that use it, for the life of the program.
    private static func sharedClient(readTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[readTimeout] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(
                connect: .seconds(5),
                read: .nanoseconds(
                    Int64(readTimeout.components.seconds) * 1_000_000_000
                        + readTimeout.components.attoseconds / 1_000_000_000
                )
            )
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[readTimeout] = client
            return client
        }
    }

    private static let clients = Mutex<[Duration: HTTPClient]>([:])
}

/// Why an upstream stream could not be read, in words that say what to do.
public enum HTTPCameraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address is not an `http` or `https` URL.
    case invalidURL(String)
    /// The upstream could not be reached or the connection broke.
    case connectionFailed(String, reason: String)
    /// The upstream wants other credentials.
    case unauthorized(String, status: Int)
    /// The upstream answered with another status than success.
    case badStatus(String, status: Int)
    /// The upstream closed the stream.
    case streamEnded(String)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .invalidURL(let url):
            "invalid stream address '\(url)': expected http://host[:port]/path or https://…"
        case .connectionFailed(let url, let reason):
            "cannot read the stream at \(url): \(reason)"
        case .unauthorized(let url, let status):
            "the stream at \(url) refused access (HTTP \(status)): put the right user and password in the address, "
                + "as http://user:password@host/…"
        case .badStatus(let url, let status):
            "the stream at \(url) answered HTTP \(status): is the address right?"
        case .streamEnded(let url):
            "the stream at \(url) ended; reconnecting"
        }
    }
}

extension FrameSourceRegistry {
    /// The standard drivers and `http`, an upstream Motion-JPEG stream (``HTTPCamera``), which lives in this module
    /// because it needs an HTTP client.
    public static var standardWithHTTP: FrameSourceRegistry {
        var registry = FrameSourceRegistry.standard
        registry.register(
            "http",
            aliases: ["ipcamera", "mjpeg"],
            summary: "an upstream MJPEG stream over HTTP: IP cameras, mjpg-streamer, another FrameStream (--url)"
        ) { options in
            guard let url = options.url else {
                throw CameraError.invalidOption(name: "url", value: "", expected: "--url http://host:port/stream")
            }
            return try HTTPCamera(configuration: .init(url: url))
        }
        return registry
    }
}
