import FrameStreamTesting
import Testing

@testable import FrameStream

/// The raw path: a YUYV or planar frame is turned in the encoder, before it is compressed.
struct JPEGEncoderOrientationTests {
    @Test(arguments: everyOrientation)
    func yuyvIsTurnedBeforeItIsEncoded(_ orientation: FrameOrientation) throws {
        let source = Picture(width: 160, height: 120)
        let encoder = try JPEGEncoder(width: 160, height: 120, quality: 95, orientation: orientation)
        let jpeg = try source.packedYUYV().withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: 320) }
        let decoded = try Picture(decoding: jpeg)
        let expected = source.turned(orientation)
        #expect(encoder.encodedSize == FrameSize(width: expected.width, height: expected.height))
        #expect(decoded.width == expected.width && decoded.height == expected.height)
        // Within JPEG's loss (and chroma's, averaged over two pixels), each plane where it belongs.
        #expect(decoded.largestDifference(from: expected, plane: 0) <= 6, "\(orientation) luma")
        #expect(decoded.largestDifference(from: expected, plane: 1) <= 6, "\(orientation) blue")
        #expect(decoded.largestDifference(from: expected, plane: 2) <= 6, "\(orientation) red")
    }

    @Test(arguments: everyOrientation)
    func planarYUV420IsTurnedBeforeItIsEncoded(_ orientation: FrameOrientation) throws {
        // Odd sizes too: a chroma sample of the last row and column covers a single pixel.
        let source = Picture(width: 82, height: 61)
        let encoder = try JPEGEncoder(width: 82, height: 61, quality: 95, orientation: orientation)
        let jpeg = try source.planarI420().withUnsafeBytes { try encoder.encodeI420($0, bytesPerLine: 82) }
        let decoded = try Picture(decoding: jpeg)
        let expected = source.turned(orientation)
        #expect(decoded.width == expected.width && decoded.height == expected.height)
        #expect(decoded.largestDifference(from: expected, plane: 0) <= 6, "\(orientation) luma")
        #expect(decoded.largestDifference(from: expected, plane: 1) <= 6, "\(orientation) blue")
        #expect(decoded.largestDifference(from: expected, plane: 2) <= 6, "\(orientation) red")
    }

    @Test(arguments: everyOrientation)
    func anOddSizedFrameEncodesTheSameEveryTime(_ orientation: FrameOrientation) throws {
        // libturbojpeg reads a luma plane of an odd size one row or column further: that padding must be written,
        // or each encoder's JPEG would differ by whatever the memory after its planes held.
        let source = Picture(width: 41, height: 31)
        let yuyv = source.packedYUYV()
        let planar = Picture(width: 42, height: 31).planarI420()
        var first: [[UInt8]] = []
        for attempt in 0..<6 {
            let packed = try JPEGEncoder(width: 41, height: 31, quality: 90, orientation: orientation)
            let fourTwoZero = try JPEGEncoder(width: 42, height: 31, quality: 90, orientation: orientation)
            let jpegs = [
                try yuyv.withUnsafeBytes { try packed.encodeYUYV($0, bytesPerLine: 82) },
                try planar.withUnsafeBytes { try fourTwoZero.encodeI420($0, bytesPerLine: 42) },
            ]
            if attempt == 0 { first = jpegs } else { #expect(jpegs == first, "\(orientation), attempt \(attempt)") }
        }
    }

    @Test func paddedRowsAreHonouredWhenTurning() throws {
        let source = Picture(width: 64, height: 48)
        var padded: [UInt8] = []
        let packed = source.packedYUYV()
        for row in 0..<48 { padded += packed[(row * 128)..<(row * 128 + 128)] + [UInt8](repeating: 0xEE, count: 32) }
        let orientation = FrameOrientation(rotation: .clockwise90)
        let encoder = try JPEGEncoder(width: 64, height: 48, quality: 95, orientation: orientation)
        let jpeg = try padded.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: 160) }
        #expect(try Picture(decoding: jpeg).largestDifference(from: source.turned(orientation), plane: 0) <= 6)
    }
}
