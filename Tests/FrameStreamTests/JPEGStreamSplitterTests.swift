import Foundation
import FrameStream
import FrameStreamTesting
import Testing

struct JPEGStreamSplitterTests {
    static let fixtures: [[UInt8]] = (1...3).map { number in
        [UInt8](FileManager.default.contents(atPath: "\(TestFixtures.directory)/\(number).jpg")!)
    }

    /// A fixture with an EXIF-style segment holding a whole thumbnail JPEG, end marker included.
    static var withThumbnail: [UInt8] {
        let thumbnail: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02, 0xFF, 0xD9]
        let payload = Array("Exif\0\0".utf8) + thumbnail
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)]
        return Array(fixtures[0][0..<2]) + segment + payload + Array(fixtures[0][2...])
    }

    func split(_ stream: [UInt8], chunkSizes: [Int]) -> (images: [[UInt8]], splitter: JPEGStreamSplitter) {
        var splitter = JPEGStreamSplitter()
        var images: [[UInt8]] = []
        var offset = 0
        var turn = 0
        while offset < stream.count {
            let size = chunkSizes[turn % chunkSizes.count]
            splitter.append(stream[offset..<min(stream.count, offset + size)])
            offset += size
            turn += 1
            while let image = splitter.nextImage() { images.append(image) }
        }
        return (images, splitter)
    }

    @Test(arguments: [[1], [7, 1, 300], [4096], [1 << 20]])
    func concatenatedImagesComeOutWhole(chunkSizes: [Int]) {
        let stream = Self.fixtures.flatMap { $0 } + Self.fixtures[1]
        let images = split(stream, chunkSizes: chunkSizes).images
        #expect(images.map(\.count) == (Self.fixtures + [Self.fixtures[1]]).map(\.count))
        #expect(images.elementsEqual(Self.fixtures + [Self.fixtures[1]]))
    }

    @Test func multipartFramingAndGarbageAreSkipped() {
        var stream: [UInt8] = Array("HTTP junk before anything\r\n--myboundary\r\n".utf8)
        for (index, image) in Self.fixtures.enumerated() {
            // No Content-Length, a boundary without the leading dashes on one part, stray bytes on another.
            let boundary = index == 1 ? "myboundary" : "--myboundary"
            stream += Array("Content-Type: image/jpeg\r\n\r\n".utf8) + image
            stream += Array("\r\n\(boundary)\r\n".utf8) + (index == 2 ? [0xFF, 0x00, 0xD8, 0x42, 0xFF] : [])
        }
        let result = split(stream, chunkSizes: [1000, 3])
        #expect(result.images.elementsEqual(Self.fixtures))
        #expect(result.splitter.skippedBytes > 0)
    }

    @Test func endMarkerInsideAThumbnailDoesNotEndTheImage() {
        let image = Self.withThumbnail
        #expect(split(image + Self.fixtures[2], chunkSizes: [512]).images.elementsEqual([image, Self.fixtures[2]]))
    }

    @Test func truncatedImageIsDroppedAndTheNextOneFound() {
        let truncated = Array(Self.fixtures[0].prefix(5000))
        let result = split(truncated + Self.fixtures[1], chunkSizes: [333])
        #expect(result.images.elementsEqual([Self.fixtures[1]]))
        #expect(result.splitter.droppedImages == 1)
    }

    @Test func oversizedImageIsDroppedAndTheNextOneFound() {
        var splitter = JPEGStreamSplitter(maximumFrameBytes: 10_000)
        splitter.append(Self.fixtures[0] + Self.fixtures[1] + Self.smallest)
        var images: [[UInt8]] = []
        while let image = splitter.nextImage() { images.append(image) }
        // Both fixtures are over 20 KB: neither is kept, each is counted with its size, and the small one after
        // them comes through.
        #expect(images == [Self.smallest])
        #expect(splitter.oversizedImages == 2)
        #expect(splitter.invalidImages == 0)
        #expect(splitter.lastDrop == .tooLarge(bytes: Self.fixtures[1].count, limit: 10_000))
    }

    /// The smallest image the splitter accepts: a frame header, a scan, two bytes of scan data.
    static let smallest: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0xFF, 0xDA, 0x00, 0x02, 0x01, 0x02, 0xFF, 0xD9]

    @Test func anImageOfExactlyTheLimitIsKeptAndOneByteMoreIsNot() {
        var exact = JPEGStreamSplitter(maximumFrameBytes: Self.smallest.count)
        exact.append(Self.smallest)
        #expect(exact.nextImage() == Self.smallest)
        var under = JPEGStreamSplitter(maximumFrameBytes: Self.smallest.count - 1)
        under.append(Self.smallest)
        #expect(under.nextImage() == nil)
        #expect(under.lastDrop == .tooLarge(bytes: Self.smallest.count, limit: Self.smallest.count - 1))
    }

    @Test(
        arguments: [
            // Start and end markers with nothing between.
            [0xFF, 0xD8, 0xFF, 0xD9],
            // A segment but no frame header and no scan.
            [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02, 0xFF, 0xD9],
            // A scan without a frame header; DHT (C4), JPG (C8) and DAC (CC) are not frame headers.
            [
                0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x02, 0xFF, 0xC8, 0x00, 0x02, 0xFF, 0xCC, 0x00, 0x02, 0xFF, 0xDA, 0x00,
                0x02,
                0x01, 0xFF, 0xD9,
            ],
            // A frame header but no scan.
            [0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x02, 0xFF, 0xD9],
        ] as [[UInt8]]
    )
    func bytesBetweenStartAndEndMarkersWithoutAFrameAndAScanAreNoImage(_ bytes: [UInt8]) {
        var splitter = JPEGStreamSplitter()
        splitter.append(bytes + Self.smallest)
        #expect(splitter.nextImage() == Self.smallest)
        #expect(splitter.nextImage() == nil)
        #expect(splitter.invalidImages == 1)
        #expect(splitter.lastDrop == .invalid)
    }

    @Test func everyStartOfFrameMarkerCountsAsAFrameHeader() {
        for marker in UInt8(0xC0)...0xCF where ![0xC4, 0xC8, 0xCC].contains(marker) {
            let image: [UInt8] = [0xFF, 0xD8, 0xFF, marker, 0x00, 0x02, 0xFF, 0xDA, 0x00, 0x02, 0x01, 0xFF, 0xD9]
            var splitter = JPEGStreamSplitter()
            splitter.append(image)
            #expect(splitter.nextImage() == image, "marker \(marker)")
        }
    }
}
