/// Finds where a JPEG image that starts at a given byte ends, by its structure: the start-of-image marker, each
/// segment by its length, the entropy-coded data up to the next marker, and the end-of-image marker.
///
/// Unlike ``JPEGStreamSplitter`` (in FrameStream), it skips nothing: recovery needs to know whether a complete
/// image starts exactly where the last one ended, and where it ends. An end marker inside a segment (an embedded
/// thumbnail) or inside entropy-coded data (always followed by `00` there) does not end the image. As in the
/// splitter, an image needs a frame header (start of frame) and a scan to count.
enum JPEGExtent {
    /// What lies at the start position.
    enum Outcome: Equatable {
        /// A complete image of `length` bytes.
        case complete(length: Int)
        /// The start of an image whose end is past the bytes given: torn by a crash.
        case incomplete
        /// Not an image: no start-of-image marker, a broken segment, or no frame header or scan.
        case invalid
    }

    /// What lies at `start` in `bytes`.
    static func measure(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Outcome {
        let end = bytes.count
        guard start + 1 < end else {
            return start >= end || bytes[start] == 0xFF ? .incomplete : .invalid
        }
        guard bytes[start] == 0xFF, bytes[start + 1] == 0xD8 else { return .invalid }
        var cursor = start + 2
        var sawFrameHeader = false
        var sawScan = false
        while true {
            guard cursor < end else { return .incomplete }
            guard bytes[cursor] == 0xFF else { return .invalid }
            guard cursor + 1 < end else { return .incomplete }
            let marker = bytes[cursor + 1]
            switch marker {
            case 0xFF:
                cursor += 1  // fill byte
            case 0xD9:
                return sawFrameHeader && sawScan ? .complete(length: cursor + 2 - start) : .invalid
            case 0x01, 0xD0...0xD7:
                cursor += 2
            case 0x00, 0xD8:
                return .invalid
            default:
                guard cursor + 3 < end else { return .incomplete }
                let length = Int(bytes[cursor + 2]) << 8 | Int(bytes[cursor + 3])
                guard length >= 2 else { return .invalid }
                if isFrameHeader(marker) { sawFrameHeader = true }
                cursor += 2 + length
                if marker == 0xDA {
                    sawScan = true
                    guard let next = nextMarkerInScan(bytes, from: cursor) else { return .incomplete }
                    cursor = next  // the end of the image, or another segment between scans (progressive JPEG)
                }
            }
        }
    }

    /// A start-of-frame marker: `C0` to `CF`, except `C4` (Huffman tables), `C8` (reserved) and `CC` (arithmetic
    /// coding conditioning).
    private static func isFrameHeader(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// The position of the next marker in entropy-coded data from `position` on: an `FF` not followed by `00`
    /// (a stuffed `FF` byte), a restart marker or another `FF`; `nil` if the bytes end first.
    private static func nextMarkerInScan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var position = start
        let last = bytes.count - 1
        while position < last {
            if bytes[position] == 0xFF {
                let next = bytes[position + 1]
                if next != 0x00, next != 0xFF, !(0xD0...0xD7).contains(next) {
                    return position
                }
                position += next == 0xFF ? 1 : 2
            } else {
                position += 1
            }
        }
        return nil
    }
}
