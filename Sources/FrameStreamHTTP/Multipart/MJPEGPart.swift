package import NIOCore

package import struct Foundation.Date

/// One frame's multipart part, ready to write: built once per frame and shared by every viewer (`ByteBuffer`
/// storage is reference-counted, so a thousand viewers writing it share one copy).
package struct MJPEGPart: Sendable {
    /// The part itself: headers, JPEG, and the boundary line that ends it. What goes into a response body.
    package var body: ByteBuffer
    /// The same bytes framed as one HTTP/1.1 chunk (size line, part, CRLF), for a connection that writes its chunks
    /// itself. It shares its storage with ``body``.
    package var chunk: ByteBuffer
    /// When the camera captured the frame; `nil` for a part that is no camera frame (a placeholder).
    package var captureTime: Date?

    /// Wraps a part and its chunk.
    package init(body: ByteBuffer, chunk: ByteBuffer, captureTime: Date? = nil) {
        self.body = body
        self.chunk = chunk
        self.captureTime = captureTime
    }
}
