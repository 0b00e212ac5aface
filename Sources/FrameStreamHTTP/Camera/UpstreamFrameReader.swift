import FrameStream

import struct Foundation.Date

/// Cuts the images out of an upstream's body, each with the headers of its multipart part, and keeps only frames
/// newer than the last one it gave out.
///
/// The images themselves are found by their JPEG structure (``JPEGStreamSplitter``), so a stream without part
/// headers, without boundaries or with garbage between images reads as well as a tidy one. What comes between
/// two images is where a multipart stream has its part headers: the block right before an image is read for
/// `X-Frame-Sequence` and `X-Timestamp` (``PartHeaders``). A part whose sequence is not newer than the last one
/// given out — the heartbeat re-send of a FrameStream upstream whose camera has stopped — is dropped, and so is a
/// placeholder part (`X-Placeholder`, sent while the upstream's camera has no picture); the upstream's timestamp
/// becomes the frame's capture time, and its sequence the frame's ``JPEGImage/sourceSequence``.
///
/// Memory stays bounded whatever the upstream sends: between images at most ``PartHeaders/maximumBytes`` are
/// kept, and an image at most as large as the splitter allows.
struct UpstreamFrameReader: Sendable {
    /// The largest image kept, in bytes.
    let maximumFrameBytes: Int
    /// The stream's bytes from the end of the last image (or the start of the stream) on.
    private var bytes: [UInt8] = []
    /// Where the search for the next image's start resumes.
    private var scanFrom = 0
    /// Whether `bytes` starts at the start of a line: false once bytes between images have been forgotten.
    private var startsAtLineStart = true
    /// The image being read: where it starts in `bytes`, the splitter it is fed to, and its part's headers.
    private var image: (start: Int, splitter: JPEGStreamSplitter, headers: PartHeaders)?
    /// The sequence of the last frame given out.
    private(set) var lastSequence: UInt64?
    /// The sequence of the last part dropped because it was not newer than ``lastSequence``; whoever reads it
    /// may reset it, to learn of the repeats from then on.
    var lastRepeatedSequence: UInt64?

    /// Images dropped because they grew larger than ``maximumFrameBytes``.
    private(set) var oversizedImages = 0
    /// Placeholder parts skipped: pictures a FrameStream upstream sends while its camera has none.
    private(set) var placeholders = 0

    /// Creates a reader for one connection's body.
    init(maximumFrameBytes: Int) {
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// How many bytes the reader holds now.
    var bufferedBytes: Int { bytes.count }

    /// Adds bytes from the body.
    mutating func append(_ chunk: some Collection<UInt8>) {
        bytes.append(contentsOf: chunk)
        if image != nil { image!.splitter.append(chunk) }
    }

    /// The next new frame, or `nil` until more bytes arrive.
    /// - Parameter receipt: when its bytes arrived, the capture time of a frame whose part carries none.
    mutating func nextFrame(receivedAt receipt: Date) -> JPEGImage? {
        while true {
            if image == nil {
                guard startImage() else { return nil }
            }
            guard let jpeg = image!.splitter.nextImage() else {
                if image!.splitter.droppedImages > 0 {
                    abandonImage()
                } else if bytes.count - image!.start > maximumFrameBytes {
                    // Over the limit before its end: it cannot be kept, so neither are its bytes. The search for
                    // the next image goes on in what follows.
                    dropOversizedImage()
                }
                return nil
            }
            let (start, splitter, headers) = image!
            if splitter.droppedImages > 0 {
                // The image that started at `start` was malformed or too large; the one the splitter found after
                // it belongs to a later part, whose headers are further on: look again from there.
                abandonImage()
                continue
            }
            // A fresh splitter fed from the image's first byte, with nothing dropped, found it right there.
            let end = start + jpeg.count
            bytes.removeSubrange(0..<end)
            scanFrom = 0
            startsAtLineStart = true
            image = nil
            if headers.isPlaceholder {
                // The upstream's camera has no picture: this server shows its own placeholders instead.
                placeholders += 1
                continue
            }
            if let sequence = headers.sequence {
                if let last = lastSequence, sequence <= last {
                    lastRepeatedSequence = sequence
                    continue
                }
                lastSequence = sequence
            }
            return JPEGImage(
                bytes: jpeg,
                captureTime: headers.captureTime(receivedAt: receipt),
                sourceSequence: headers.sequence
            )
        }
    }

    /// Finds the next start-of-image marker and starts reading the image there; forgets what cannot matter.
    private mutating func startImage() -> Bool {
        var index = scanFrom
        while index + 2 < bytes.count {
            if bytes[index] == 0xFF, bytes[index + 1] == 0xD8, bytes[index + 2] == 0xFF {
                let headers = PartHeaders.parse(bytes, from: 0, startIsLineStart: startsAtLineStart, to: index)
                var splitter = JPEGStreamSplitter(maximumFrameBytes: maximumFrameBytes)
                splitter.append(bytes[index...])
                image = (index, splitter, headers)
                return true
            }
            index += 1
        }
        scanFrom = index
        // Between images only the headers right before the next one matter.
        let excess = bytes.count - PartHeaders.maximumBytes
        if excess > 0 {
            bytes.removeSubrange(0..<excess)
            scanFrom -= excess
            startsAtLineStart = false
        }
        return false
    }

    /// Gives up an image that has grown past the limit, and forgets its bytes.
    private mutating func dropOversizedImage() {
        image = nil
        oversizedImages += 1
        bytes.removeAll(keepingCapacity: false)
        scanFrom = 0
        startsAtLineStart = false
    }

    /// Gives up the image being read and looks for the next start after its first byte.
    private mutating func abandonImage() {
        guard let start = image?.start else { return }
        image = nil
        scanFrom = start + 1
    }
}
