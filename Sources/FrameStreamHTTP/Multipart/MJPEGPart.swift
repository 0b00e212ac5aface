package import NIOCore

/// One frame's multipart part, ready to write: built once per frame and shared by every viewer (`ByteBuffer`
/// storage is reference-counted, so a thousand viewers writing it share one copy).
package struct MJPEGPart: Sendable {
    /// The part itself: headers, JPEG, and the boundary line that ends it. What goes into a response body.
    package var body: ByteBuffer
    /// The same bytes framed as one HTTP/1.1 chunk (size line, part, CRLF), for a connection that writes its chunks
    /// itself. It shares its storage with ``body``.
    package var chunk: ByteBuffer

    /// Wraps a part and its chunk.
    package init(body: ByteBuffer, chunk: ByteBuffer) {
        self.body = body
        self.chunk = chunk
    }
}
