public import FrameStream
public import NIOCore

import struct Foundation.Date

/// Writes frames as the parts of a `multipart/x-mixed-replace` Motion-JPEG stream, the format every browser plays
/// in an `<img>` element.
///
/// The stream starts with a boundary line; each part then carries its headers, the JPEG, and the next boundary
/// line, so a browser shows a frame as soon as its part arrives instead of one frame late:
///
/// ```
/// --frame\r\n
/// Content-Type: image/jpeg\r\n
/// Content-Length: 45021\r\n
/// X-Timestamp: 1764070000.123456\r\n
/// X-Frame-Sequence: 42\r\n
/// \r\n
/// <JPEG bytes>\r\n
/// --frame\r\n
/// ```
public struct MJPEGPartEncoder: Sendable {
    /// The boundary between parts.
    public let boundary: String

    /// Creates an encoder with a boundary that cannot occur in the part headers.
    public init(boundary: String = "frame") {
        self.boundary = boundary
    }

    /// The response's `Content-Type`.
    public var contentType: String { "multipart/x-mixed-replace; boundary=\(boundary)" }

    /// The bytes that open the stream: the first boundary line.
    public func streamStart(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        allocator.buffer(string: "--\(boundary)\r\n")
    }

    /// One frame's part: headers, JPEG, and the boundary line that ends it.
    public func part(for frame: Frame, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let (headers, trailer) = framing(of: frame)
        var buffer = allocator.buffer(capacity: headers.utf8.count + frame.jpeg.count + trailer.utf8.count)
        buffer.writeString(headers)
        buffer.writeBytes(frame.jpeg)
        buffer.writeString(trailer)
        return buffer
    }

    /// A recorded frame's part, with its original capture time in `X-Timestamp`.
    public func part(for frame: RecordedFrame, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let headers =
            "Content-Type: image/jpeg\r\n"
            + "Content-Length: \(frame.jpeg.count)\r\n"
            + "X-Timestamp: \(Self.unixSeconds(micros: frame.captureMicros))\r\n\r\n"
        let trailer = "\r\n--\(boundary)\r\n"
        var buffer = allocator.buffer(capacity: headers.utf8.count + frame.jpeg.count + trailer.utf8.count)
        buffer.writeString(headers)
        buffer.writeBytes(frame.jpeg)
        buffer.writeString(trailer)
        return buffer
    }

    /// One frame's part, built once in one buffer that holds it both bare and framed as one HTTP/1.1 chunk (the
    /// chunk's size line before it, CRLF after it), so that a connection writes either with a single write.
    package func framedPart(for frame: Frame, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> MJPEGPart {
        let (headers, trailer) = framing(of: frame)
        var part = framedPart(headers: headers, jpeg: frame.jpeg, trailer: trailer, allocator: allocator)
        part.captureTime = frame.captureTime
        return part
    }

    /// A placeholder's part (``framedPart(for:allocator:)``), with `X-Placeholder: REASON` and no sequence number.
    package func framedPart(
        for placeholder: PlaceholderFrame,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> MJPEGPart {
        let headers =
            "Content-Type: image/jpeg\r\n"
            + "Content-Length: \(placeholder.jpeg.count)\r\n"
            + "X-Timestamp: \(Self.unixSeconds(placeholder.time))\r\n"
            + "\(Self.placeholderField): \(placeholder.reason.rawValue)\r\n\r\n"
        return framedPart(
            headers: headers,
            jpeg: placeholder.jpeg,
            trailer: "\r\n--\(boundary)\r\n",
            allocator: allocator
        )
    }

    /// The header of a placeholder's part (and of a snapshot that is one), whose value is the reason.
    package static let placeholderField = "X-Placeholder"

    private func framedPart(
        headers: String,
        jpeg: [UInt8],
        trailer: String,
        allocator: ByteBufferAllocator
    ) -> MJPEGPart {
        let length = headers.utf8.count + jpeg.count + trailer.utf8.count
        let sizeLine = String(length, radix: 16) + "\r\n"
        var buffer = allocator.buffer(capacity: sizeLine.utf8.count + length + 2)
        buffer.writeString(sizeLine)
        buffer.writeString(headers)
        buffer.writeBytes(jpeg)
        buffer.writeString(trailer)
        buffer.writeStaticString("\r\n")
        // The same storage with narrower indices: the bare part costs no copy.
        var body = buffer
        body.moveReaderIndex(forwardBy: sizeLine.utf8.count)
        body.moveWriterIndex(to: body.writerIndex - 2)
        return MJPEGPart(body: body, chunk: buffer)
    }

    /// The text before a frame's JPEG bytes and after them.
    private func framing(of frame: Frame) -> (headers: String, trailer: String) {
        let headers =
            "Content-Type: image/jpeg\r\n"
            + "Content-Length: \(frame.jpeg.count)\r\n"
            + "X-Timestamp: \(Self.unixSeconds(frame.captureTime))\r\n"
            + "X-Frame-Sequence: \(frame.sequence)\r\n\r\n"
        return (headers, "\r\n--\(boundary)\r\n")
    }

    /// Seconds since 1970 with six decimals, as `X-Timestamp` carries them.
    static func unixSeconds(_ date: Date) -> String {
        unixSeconds(micros: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    /// Microseconds since 1970 as seconds with six decimals.
    static func unixSeconds(micros: Int64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
    }
}
