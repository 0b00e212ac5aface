import FrameStream
import FrameStreamTesting
import Testing

struct JPEGEncoderTests {
    /// A YUYV image whose luma rises from left to right, with `padding` bytes of 0xEE after each row.
    func rampYUYV(width: Int, height: Int, padding: Int) -> (bytes: [UInt8], bytesPerLine: Int) {
        let bytesPerLine = width * 2 + padding
        var bytes = [UInt8](repeating: 0xEE, count: bytesPerLine * height)
        for row in 0..<height {
            for column in 0..<width {
                bytes[row * bytesPerLine + column * 2] = UInt8(column * 255 / (width - 1))
                bytes[row * bytesPerLine + column * 2 + 1] = 128
            }
        }
        return (bytes, bytesPerLine)
    }

    @Test(arguments: [0, 64])
    func yuyvIsEncodedIntoAJPEGOfTheRightSizeAndContent(padding: Int) throws {
        let encoder = try JPEGEncoder(width: 320, height: 240, quality: 90)
        let image = rampYUYV(width: 320, height: 240, padding: padding)
        let jpeg = try image.bytes.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: image.bytesPerLine) }
        #expect(Array(jpeg.prefix(2)) == [0xFF, 0xD8])
        #expect(Array(jpeg.suffix(2)) == [0xFF, 0xD9])
        let decoded = try DecodedJPEG(jpeg)
        #expect(decoded.width == 320 && decoded.height == 240)
        // Every pixel matches the ramp within JPEG's loss; ignored padding would shear the rows.
        #expect(decoded.largestDifference { x, _ in x * 255 / 319 } <= 6)
    }

    @Test func encoderIsReusedFrameAfterFrame() throws {
        let encoder = try JPEGEncoder(width: 64, height: 48)
        let image = rampYUYV(width: 64, height: 48, padding: 0)
        let first = try image.bytes.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: 128) }
        let second = try image.bytes.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: 128) }
        #expect(first == second)
    }

    @Test func rejectsAnImageSmallerThanItsSize() throws {
        let encoder = try JPEGEncoder(width: 64, height: 48)
        let short = [UInt8](repeating: 0, count: 100)
        #expect(throws: JPEGError.imageTooSmall(expected: 128 * 48, actual: 100)) {
            try short.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: 128) }
        }
    }

    @Test func rejectsBadSizeAndQuality() {
        #expect(throws: JPEGError.invalidSize(width: 0, height: 10)) { try JPEGEncoder(width: 0, height: 10) }
        #expect(throws: JPEGError.invalidQuality(0)) { try JPEGEncoder(width: 10, height: 10, quality: 0) }
    }
}
