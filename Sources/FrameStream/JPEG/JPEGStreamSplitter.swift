/// Cuts whole JPEG images out of a stream of bytes: a Motion-JPEG pipe (concatenated JPEGs), or the body of a
/// `multipart/x-mixed-replace` stream, whatever its boundaries and headers look like.
///
/// It follows the JPEG structure itself — the start-of-image marker, each segment by its length, the
/// entropy-coded data up to the end-of-image marker — so it needs neither `Content-Length` nor boundary lines,
/// is not fooled by an end marker inside an embedded thumbnail, and skips any garbage between images. An image
/// larger than ``maximumFrameSize`` is dropped and the splitter looks for the next start marker.
///
/// ```swift
/// var splitter = JPEGStreamSplitter()
/// splitter.append(chunk)
/// while let jpeg = splitter.nextImage() { … }
/// ```
public struct JPEGStreamSplitter: Sendable {
    /// The largest image kept, in bytes.
    public var maximumFrameSize: Int
    /// Bytes skipped because they belonged to no image (boundaries, headers, garbage).
    public private(set) var skippedBytes = 0
    /// Images dropped because they were larger than ``maximumFrameSize`` or malformed.
    public private(set) var droppedImages = 0

    private var buffer: [UInt8] = []
    /// Where the image being read starts, if one has started.
    private var imageStart: Int?
    /// The next byte to examine.
    private var cursor = 0
    /// Whether `cursor` is inside entropy-coded data (after a start-of-scan segment).
    private var inScan = false

    /// Creates a splitter.
    /// - Parameter maximumFrameSize: the largest image to keep; 16 MiB by default.
    public init(maximumFrameSize: Int = 16 << 20) {
        self.maximumFrameSize = maximumFrameSize
    }

    /// Adds bytes from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete image, or `nil` until more bytes arrive.
    public mutating func nextImage() -> [UInt8]? {
        defer { compact() }
        while true {
            guard let start = imageStart else {
                guard findStart() else { return nil }
                continue
            }
            if cursor - start > maximumFrameSize {
                drop(resumingAt: start + 1)
                continue
            }
            if inScan {
                guard let marker = nextMarkerInScan(limit: start + maximumFrameSize + 2) else {
                    if cursor - start > maximumFrameSize { continue }  // dropped at the top of the loop
                    return nil
                }
                if buffer[marker + 1] == 0xD9 {
                    guard marker + 2 - start <= maximumFrameSize else {
                        drop(resumingAt: marker + 2)
                        continue
                    }
                    return finishImage(start: start, end: marker + 2)
                }
                // Another segment between scans (progressive JPEG).
                inScan = false
                cursor = marker
                continue
            }
            guard cursor + 1 < buffer.count else { return nil }
            guard buffer[cursor] == 0xFF else {
                drop(resumingAt: start + 1)
                continue
            }
            let marker = buffer[cursor + 1]
            switch marker {
            case 0xFF:
                cursor += 1  // fill byte
            case 0xD9:
                guard cursor + 2 - start <= maximumFrameSize else {
                    drop(resumingAt: cursor + 2)
                    continue
                }
                return finishImage(start: start, end: cursor + 2)
            case 0x01, 0xD0...0xD7:
                cursor += 2
            case 0xD8, 0x00:
                drop(resumingAt: start + 1)
            default:
                guard cursor + 3 < buffer.count else { return nil }
                let length = Int(buffer[cursor + 2]) << 8 | Int(buffer[cursor + 3])
                guard length >= 2 else {
                    drop(resumingAt: start + 1)
                    continue
                }
                cursor += 2 + length
                if marker == 0xDA { inScan = true }
            }
        }
    }

    /// Finds the next start-of-image marker (`FF D8 FF`); skips what comes before it.
    private mutating func findStart() -> Bool {
        var index = cursor
        while index + 2 < buffer.count {
            if buffer[index] == 0xFF, buffer[index + 1] == 0xD8, buffer[index + 2] == 0xFF {
                skippedBytes += index - cursor
                imageStart = index
                cursor = index + 2
                inScan = false
                return true
            }
            index += 1
        }
        skippedBytes += index - cursor
        cursor = index
        return false
    }

    /// The position of the next marker in entropy-coded data (an `FF` not followed by `00`, a restart marker or
    /// another `FF`), or `nil` if the buffer ends first.
    private mutating func nextMarkerInScan(limit: Int) -> Int? {
        var index = cursor
        let end = min(buffer.count, limit) - 1
        while index < end {
            if buffer[index] == 0xFF {
                let next = buffer[index + 1]
                if next != 0x00, next != 0xFF, !(0xD0...0xD7).contains(next) {
                    cursor = index
                    return index
                }
                index += next == 0xFF ? 1 : 2
            } else {
                index += 1
            }
        }
        cursor = index
        return nil
    }

    private mutating func finishImage(start: Int, end: Int) -> [UInt8] {
        let image = Array(buffer[start..<end])
        imageStart = nil
        cursor = end
        inScan = false
        return image
    }

    private mutating func drop(resumingAt position: Int) {
        droppedImages += 1
        imageStart = nil
        inScan = false
        cursor = position
    }

    /// Forgets bytes that no longer matter, once there are enough of them.
    private mutating func compact() {
        let keepFrom = imageStart ?? cursor
        guard keepFrom > 65536, keepFrom * 2 > buffer.count else { return }
        buffer.removeSubrange(0..<keepFrom)
        cursor -= keepFrom
        if imageStart != nil { imageStart = 0 }
    }
}
