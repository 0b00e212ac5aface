package import FrameStream
import NIOCore
import Synchronization

/// Builds each frame's multipart part once and hands the same bytes to every viewer.
///
/// `ByteBuffer` storage is reference-counted: a thousand viewers writing the same part share one copy of it.
package final class MJPEGPartCache: Sendable {
    /// How parts are written.
    package let encoder: MJPEGPartEncoder
    private let newest = Mutex<(sequence: UInt64, part: MJPEGPart)?>(nil)

    /// Creates an empty cache.
    package init(encoder: MJPEGPartEncoder = MJPEGPartEncoder()) {
        self.encoder = encoder
    }

    /// The frame's part, built on first use; a frame older than the newest one cached is built without caching.
    package func part(for frame: Frame) -> MJPEGPart {
        newest.withLock { newest in
            if let newest, newest.sequence == frame.sequence { return newest.part }
            let part = encoder.framedPart(for: frame)
            if frame.sequence > newest?.sequence ?? 0 {
                newest = (frame.sequence, part)
            }
            return part
        }
    }
}
