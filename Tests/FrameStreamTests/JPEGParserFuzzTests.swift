import Foundation
import FrameStream
import FrameStreamTesting
import Testing

/// Random and broken input for the JPEG parsers that take bytes from outside: no input may trap, and the splitter's
/// buffer stays within its limit. Seeded, so every run feeds the same bytes.
struct JPEGParserFuzzTests {
    static let fixtures = JPEGStreamSplitterTests.fixtures

    /// A fixture with one kind of damage: bytes changed, a segment length set to 0, 1 or 0xFFFF, cut short, bytes
    /// removed or repeated.
    static func damaged(_ image: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var bytes = image
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            for _ in 0..<Int.random(in: 1...20, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
        case 1:
            // A segment length right after a marker in the header part.
            let markers = (2..<min(bytes.count - 3, 2000)).filter { bytes[$0] == 0xFF && bytes[$0 + 1] >= 0xC0 }
            if let at = markers.randomElement(using: &random) {
                let length: UInt16 = [0, 1, 0xFFFF, 2, 3].randomElement(using: &random)!
                bytes[at + 2] = UInt8(length >> 8)
                bytes[at + 3] = UInt8(length & 0xFF)
            }
        case 2:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
        case 3:
            let from = Int.random(in: 0..<bytes.count, using: &random)
            bytes.removeSubrange(from..<min(bytes.count, from + Int.random(in: 1...500, using: &random)))
        case 4:
            let from = Int.random(in: 0..<bytes.count, using: &random)
            bytes.insert(contentsOf: bytes[from..<min(bytes.count, from + 300)], at: from)
        default:
            // Markers the splitter treats specially, dropped in anywhere.
            let marker: [UInt8] = [
                [0xFF, 0xD8], [0xFF, 0xD9], [0xFF, 0xDA, 0, 0], [0xFF, 0x00], [0xFF, 0xFF, 0xFF],
            ]
            .randomElement(using: &random)!
            bytes.insert(contentsOf: marker, at: Int.random(in: 0...bytes.count, using: &random))
        }
        return bytes
    }

    /// Feeds `stream` in random chunks and checks every invariant after each.
    static func split(_ stream: [UInt8], limit: Int, using random: inout SeededRandom) -> [[UInt8]] {
        var splitter = JPEGStreamSplitter(maximumFrameBytes: limit)
        var images: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let size = [1, 7, 512, 4096, 70_000].randomElement(using: &random)!
            let end = min(stream.count, offset + size)
            splitter.append(stream[offset..<end])
            offset = end
            #expect(splitter.bufferedBytes <= limit)
            while let image = splitter.nextImage() {
                #expect(image.count <= limit)
                #expect(image.starts(with: [0xFF, 0xD8]) && image.suffix(2) == [0xFF, 0xD9])
                images.append(image)
            }
        }
        return images
    }

    @Test func randomBytesNeverTrapAndAreNeverAnImage() {
        var random = SeededRandom(seed: 1)
        for round in 0..<40 {
            var stream = random.bytes(Int.random(in: 0...20_000, using: &random))
            // Start and end markers sprinkled in, so that the splitter tries to read images out of noise.
            for _ in 0..<Int.random(in: 0...30, using: &random) {
                let marker: [UInt8] = [[0xFF, 0xD8, 0xFF], [0xFF, 0xD9], [0xFF, 0xDA, 0x00, 0x02]]
                    .randomElement(using: &random)!
                stream.insert(contentsOf: marker, at: Int.random(in: 0...stream.count, using: &random))
            }
            let images = Self.split(stream, limit: round % 2 == 0 ? 4096 : 1 << 20, using: &random)
            for image in images {
                // Whatever comes out of noise must at least have a frame header and a scan.
                #expect(image.contains(0xDA))
            }
            #expect(TestPatternCamera.timestamp(in: stream) == nil)
            #expect(TestPatternCamera.timestamp(in: [0xFF, 0xD8] + stream) == nil)
        }
    }

    @Test func damagedImagesNeverTrap() {
        var random = SeededRandom(seed: 2)
        for _ in 0..<150 {
            let damaged = Self.damaged(Self.fixtures.randomElement(using: &random)!, using: &random)
            // Several intact copies after it: a damaged length may send the parser well into the next image.
            let stream = damaged + Array([[UInt8]](repeating: Self.fixtures[1], count: 4).joined())
            let images = Self.split(stream, limit: [30_000, 1 << 20].randomElement(using: &random)!, using: &random)
            // The intact image after the damaged one always comes through.
            #expect(images.last == Self.fixtures[1])
            _ = TestPatternCamera.timestamp(in: damaged)
        }
    }

    @Test(arguments: [0, 1, 0xFFFF])
    func commentSegmentLengthsThatDoNotFitAreNoTimestamp(length: Int) {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + Array("FSTS:1".utf8)
        #expect(TestPatternCamera.timestamp(in: jpeg) == nil)
        #expect(TestPatternCamera.timestamp(in: Array(jpeg.prefix(6))) == nil)
        #expect(
            TestPatternCamera.timestamp(in: [0xFF, 0xD8, 0xFF, 0xE0, UInt8(length >> 8), UInt8(length & 0xFF)]) == nil
        )
    }

    @Test func shortAndEmptyInputIsNoTimestamp() {
        for count in 0..<8 {
            #expect(
                TestPatternCamera.timestamp(in: Array([0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x08, 0x46, 0x53].prefix(count)))
                    == nil
            )
        }
    }

    @Test func aDecodedHeaderClaimingAHugeSizeIsRefused() throws {
        // The frame header's height and width (after FF C0, the length and the precision) set to 60000 each (the
        // most libjpeg accepts is 65500): 3.6 gigapixels, more than an Int32 holds.
        var jpeg = Self.fixtures[0]
        let frameHeader = try #require((2..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        for offset in [5, 7] {
            jpeg[frameHeader + offset] = 0xEA
            jpeg[frameHeader + offset + 1] = 0x60
        }
        #expect(throws: DecodedJPEG.Failure.self) { try DecodedJPEG(jpeg) }
    }

    @Test func aHugeChunkIsWorkedThroughWithinTheLimit() {
        // One 40 MB chunk holding a valid-looking image far over a 1 MiB limit, then a fixture.
        let limit = 1 << 20
        let fixture = Self.fixtures[0]
        let huge = Array(fixture.dropLast(2)) + [UInt8](repeating: 0x42, count: 40_000_000) + [0xFF, 0xD9]
        var splitter = JPEGStreamSplitter(maximumFrameBytes: limit)
        splitter.append(huge + Self.fixtures[2])
        #expect(splitter.bufferedBytes <= limit)
        #expect(splitter.nextImage() == Self.fixtures[2])
        #expect(splitter.nextImage() == nil)
        #expect(splitter.oversizedImages == 1)
        #expect(splitter.lastDrop == .tooLarge(bytes: huge.count, limit: limit))
        #expect(
            splitter.lastDrop?.description == "frame of 40.0 MB exceeds the 1.0 MB limit (1048576 bytes)"
        )
    }

    @Test func aSegmentLengthPointingFarAheadIsFollowedWithinTheLimit() {
        // 0xFFFF-long segments, one after another, beyond a small limit: the image is dropped, nothing piles up.
        let limit = 100_000
        var stream: [UInt8] = [0xFF, 0xD8]
        for _ in 0..<10 {
            stream += [0xFF, 0xE1, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 0xFFFD)
        }
        stream += [0xFF, 0xD9] + Self.fixtures[0]
        var random = SeededRandom(seed: 3)
        #expect(Self.split(stream, limit: limit, using: &random) == [Self.fixtures[0]])
    }
}
