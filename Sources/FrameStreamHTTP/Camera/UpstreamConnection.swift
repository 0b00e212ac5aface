import AsyncHTTPClient
import FrameStream
import NIOCore

import struct Foundation.Date

/// One connection to an upstream, as ``HTTPCamera/Frames/Iterator`` reads it: the response body once the
/// upstream has answered, the frames cut out of it so far, and what arrived while waiting for the next frame (for
/// the message when none comes).
///
/// Not `Sendable`, as the response body is not: it is handed from task to task whole (`sending`), through
/// ``HTTPCamera``'s connection slot, and used by one task at a time.
struct UpstreamConnection {
    /// The response body; `nil` until the upstream has answered.
    private(set) var body: HTTPClientResponse.Body.AsyncIterator?
    /// Cuts the frames out of the body.
    private(set) var reader: UpstreamFrameReader
    /// Bytes received since the last frame (or the connection's start).
    private(set) var receivedBytes = 0

    /// Creates the state of a connection that is not open yet.
    init(reader: UpstreamFrameReader) {
        self.reader = reader
    }

    /// The reader's count of oversized images when the wait for this frame began.
    private var oversizedBefore = 0

    /// Whether an image too large to keep arrived since the last frame.
    var droppedOversizedImage: Bool { reader.oversizedImages > oversizedBefore }

    /// The reader's count of placeholder parts when the wait for this frame began.
    private var placeholdersBefore = 0

    /// Whether the upstream sent placeholders (its camera has no picture) since the last frame.
    var sentPlaceholders: Bool { reader.placeholders > placeholdersBefore }

    /// Whether the upstream has answered with a success.
    var answered: Bool { body != nil }

    /// The frame the upstream repeated instead of sending a new one since the last frame, if it did.
    var repeatedFrame: UInt64? { reader.lastRepeatedSequence }

    /// Connects if it has not, then reads until the next new frame.
    /// - Throws: ``HTTPCameraError`` when the upstream refuses, fails or ends; `CancellationError` when the task
    ///   is cancelled.
    mutating func nextFrame(from camera: HTTPCamera) async throws -> JPEGImage {
        receivedBytes = 0
        oversizedBefore = reader.oversizedImages
        placeholdersBefore = reader.placeholders
        reader.lastRepeatedSequence = nil
        if body == nil {
            body = try await camera.connect()
        }
        while true {
            if let image = reader.nextFrame(receivedAt: Date()) {
                return image
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await body!.next()
            } catch {
                try Task.checkCancellation()
                throw HTTPCameraError.connectionFailed(
                    camera.address.redacted,
                    reason: camera.address.scrub("\(error)")
                )
            }
            guard let chunk else { throw HTTPCameraError.streamEnded(camera.address.redacted) }
            receivedBytes += chunk.readableBytes
            reader.append(chunk.readableBytesView)
        }
    }
}
