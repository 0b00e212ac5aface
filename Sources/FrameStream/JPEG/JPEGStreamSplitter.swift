/// Cuts whole JPEG images out of a stream of bytes: a Motion-JPEG pipe (concatenated JPEGs), or the body of a
/// `multipart/x-mixed-replace` stream, whatever its boundaries and headers look like.
///
/// It follows the JPEG structure itself — the start-of-image marker, each segment by its length, the
/// entropy-coded data up to the end-of-image marker — so it needs neither `Content-Length` nor boundary lines,
/// is not fooled by an end marker inside an embedded thumbnail, and skips any garbage between images.
///
/// Only images with a frame header (a start-of-frame marker, `FF C0` to `FF CF` except `C4`, `C8` and `CC`) and
/// a scan (`FF DA`) come out: random bytes that happen to hold `FF D8 … FF D9` are dropped and counted in
/// ``invalidImages``. An image larger than ``maximumFrameBytes`` is dropped too, counted in ``oversizedImages``,
/// and its size, once its end is found, is in ``lastDrop``. The splitter never buffers more than
/// ``maximumFrameBytes`` between calls, however the bytes come: it works through a large chunk in pieces.
///
/// ```swift
/// var splitter = JPEGStreamSplitter()
/// splitter.append(chunk)
/// while let jpeg = splitter.nextImage() { … }
/// ```
public struct JPEGStreamSplitter: Sendable {
    /// Why an image was dropped.
    public enum DroppedImage: Sendable, Hashable, CustomStringConvertible {
        /// The image was larger than the limit: `bytes` is its size up to its end marker, or up to where it broke
        /// off if it had none.
        case tooLarge(bytes: Int, limit: Int)
        /// The bytes between a start-of-image and an end-of-image marker were not a JPEG image: a broken segment,
        /// or no frame header or no scan.
        case invalid

        /// `frame of 41.9 MB exceeds the 16.8 MB limit (16777216 bytes)`, or `invalid JPEG image …`.
        public var description: String {
            switch self {
            case .tooLarge(let bytes, let limit):
                "frame of \(Self.size(bytes)) exceeds the \(Self.size(limit)) limit (\(limit) bytes)"
            case .invalid:
                "invalid JPEG image (no frame header or scan, or a broken segment)"
            }
        }

        /// A size in megabytes (10^6 bytes) with one decimal, such as `16.8 MB`; in kilobytes below 1 MB.
        package static func size(_ bytes: Int) -> String {
            let (unit, name) = bytes >= 1_000_000 ? (1_000_000, "MB") : (1000, "KB")
            let tenth = unit / 10
            let tenths = bytes / tenth + (bytes % tenth >= tenth / 2 ? 1 : 0)  // no multiplication: no overflow
            return "\(tenths / 10).\(tenths % 10) \(name)"
        }
    }

    /// The limit ``maximumFrameBytes`` has unless told otherwise: 16 MiB.
    public static let defaultMaximumFrameBytes = 16 << 20

    /// The largest image kept, in bytes; also the most the splitter buffers between calls.
    public var maximumFrameBytes: Int
    /// Bytes skipped because they belonged to no image (boundaries, headers, garbage).
    public private(set) var skippedBytes = 0
    /// Images dropped because they were larger than ``maximumFrameBytes``.
    public private(set) var oversizedImages = 0
    /// Images dropped because they were not JPEG images: a broken segment, or no frame header or no scan.
    public private(set) var invalidImages = 0
    /// The most recent image dropped, and why.
    public private(set) var lastDrop: DroppedImage?
    /// Images dropped for any reason: ``oversizedImages`` plus ``invalidImages``.
    public var droppedImages: Int { oversizedImages + invalidImages }
    /// The bytes held now, waiting for the rest of an image: at most ``maximumFrameBytes`` between calls.
    public var bufferedBytes: Int { buffer.count }

    /// How much of a chunk is taken in at once: the buffer grows by at most this much before it is worked through.
    private static let pieceSize = 65536

    private var buffer: [UInt8] = []
    /// Complete images not yet taken by ``nextImage()``.
    private var ready: [[UInt8]] = []
    // Positions below are in the whole stream, not in `buffer`: `buffer[0]` is at `bufferStart`.
    private var bufferStart = 0
    /// Where the image being read starts, if one has started.
    private var imageStart: Int?
    /// The next byte to examine (may lie beyond the buffer, after a segment whose length points there).
    private var cursor = 0
    /// Whether `cursor` is inside entropy-coded data (after a start-of-scan segment).
    private var inScan = false
    /// Whether the image being read is over the limit: its bytes are thrown away as they come, and only its end
    /// is looked for, to report its size.
    private var discarding = false
    private var sawFrameHeader = false
    private var sawScan = false

    /// Creates a splitter.
    /// - Parameter maximumFrameBytes: the largest image to keep; 16 MiB by default.
    public init(maximumFrameBytes: Int = defaultMaximumFrameBytes) {
        self.maximumFrameBytes = max(4, maximumFrameBytes)
    }

    /// Adds bytes from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { append($0) }
        }
    }

    /// Adds bytes from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Self.pieceSize)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
            scan()
            compact()
        }
    }

    /// The next complete image, or `nil` until more bytes arrive.
    public mutating func nextImage() -> [UInt8]? {
        ready.isEmpty ? nil : ready.removeFirst()
    }

    private var bufferEnd: Int { bufferStart + buffer.count }

    private func byte(at position: Int) -> UInt8 {
        buffer[position - bufferStart]
    }

    /// Works through the buffer until it needs more bytes.
    private mutating func scan() {
        parsing: while true {
            guard let start = imageStart else {
                guard findStart() else { return }
                continue
            }
            if !discarding, cursor - start > maximumFrameBytes {
                discarding = true
                continue
            }
            if inScan {
                // Written so as not to overflow for a limit near Int.max.
                let limit =
                    discarding || bufferEnd - start - 2 <= maximumFrameBytes ? bufferEnd : start + maximumFrameBytes + 2
                guard let marker = nextMarkerInScan(limit: limit) else {
                    if !discarding, cursor - start > maximumFrameBytes { continue }  // becomes discarding above
                    break parsing
                }
                if byte(at: marker + 1) == 0xD9 {
                    finishImage(start: start, end: marker + 2)
                    continue
                }
                // Another segment between scans (progressive JPEG).
                inScan = false
                cursor = marker
                continue
            }
            guard cursor + 1 < bufferEnd else { break parsing }
            guard byte(at: cursor) == 0xFF else {
                dropBroken(start: start)
                continue
            }
            let marker = byte(at: cursor + 1)
            switch marker {
            case 0xFF:
                cursor += 1  // fill byte
            case 0xD9:
                finishImage(start: start, end: cursor + 2)
            case 0x01, 0xD0...0xD7:
                cursor += 2
            case 0xD8, 0x00:
                dropBroken(start: start)
            default:
                guard cursor + 3 < bufferEnd else { break parsing }
                let length = Int(byte(at: cursor + 2)) << 8 | Int(byte(at: cursor + 3))
                guard length >= 2 else {
                    dropBroken(start: start)
                    continue
                }
                if Self.isFrameHeader(marker) { sawFrameHeader = true }
                if marker == 0xDA {
                    sawScan = true
                    inScan = true
                }
                cursor += 2 + length
            }
        }
        // The image's end lies beyond the buffered bytes (at least one past them): if those already reach the
        // limit, it is too large, and its bytes need not be kept.
        if let start = imageStart, !discarding, bufferEnd - start >= maximumFrameBytes {
            discarding = true
        }
    }

    /// A start-of-frame marker: `C0` to `CF`, except `C4` (Huffman tables), `C8` (reserved) and `CC` (arithmetic
    /// coding conditioning).
    private static func isFrameHeader(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// Finds the next start-of-image marker (`FF D8 FF`); skips what comes before it.
    private mutating func findStart() -> Bool {
        var position = max(cursor, bufferStart)
        while position + 2 < bufferEnd {
            if byte(at: position) == 0xFF, byte(at: position + 1) == 0xD8, byte(at: position + 2) == 0xFF {
                skippedBytes += position - cursor
                imageStart = position
                cursor = position + 2
                inScan = false
                discarding = false
                sawFrameHeader = false
                sawScan = false
                return true
            }
            position += 1
        }
        skippedBytes += max(0, position - cursor)
        cursor = max(cursor, position)
        return false
    }

    /// The position of the next marker in entropy-coded data (an `FF` not followed by `00`, a restart marker or
    /// another `FF`) before `limit`, or `nil` if there is none.
    private mutating func nextMarkerInScan(limit: Int) -> Int? {
        var position = cursor
        let end = limit - 1
        while position < end {
            if byte(at: position) == 0xFF {
                let next = byte(at: position + 1)
                if next != 0x00, next != 0xFF, !(0xD0...0xD7).contains(next) {
                    cursor = position
                    return position
                }
                position += next == 0xFF ? 1 : 2
            } else {
                position += 1
            }
        }
        cursor = max(cursor, position)
        return nil
    }

    private mutating func finishImage(start: Int, end: Int) {
        if discarding || end - start > maximumFrameBytes {
            record(.tooLarge(bytes: end - start, limit: maximumFrameBytes))
        } else if !sawFrameHeader || !sawScan {
            record(.invalid)
        } else {
            ready.append(Array(buffer[(start - bufferStart)..<(end - bufferStart)]))
        }
        imageStart = nil
        cursor = end
        inScan = false
        discarding = false
    }

    /// Drops an image whose structure is broken. A normal one is searched again from its second byte, for an image
    /// that may start inside it; the bytes of one over the limit are gone, so the search goes on from here.
    private mutating func dropBroken(start: Int) {
        if discarding {
            record(.tooLarge(bytes: cursor - start, limit: maximumFrameBytes))
        } else {
            record(.invalid)
            cursor = start + 1
        }
        imageStart = nil
        inScan = false
        discarding = false
    }

    private mutating func record(_ drop: DroppedImage) {
        switch drop {
        case .tooLarge: oversizedImages += 1
        case .invalid: invalidImages += 1
        }
        lastDrop = drop
    }

    /// Forgets the bytes that no longer matter.
    private mutating func compact() {
        let keepFrom = discarding ? cursor : (imageStart ?? cursor)
        let count = min(keepFrom, bufferEnd) - bufferStart
        guard count > 0 else { return }
        buffer.removeSubrange(0..<count)
        bufferStart += count
    }
}
