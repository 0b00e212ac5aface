import FrameStreamTesting
import Testing

@testable import FrameStream

/// The lossless JPEG path: a frame from a Motion-JPEG camera is turned without being decoded.
struct JPEGTransformerTests {
    /// A camera-like JPEG (4:2:2, as webcams send; 320x240, whole blocks, unless told) and its picture as decoded.
    static func cameraJPEG(width: Int = 320, height: Int = 240) throws -> (jpeg: [UInt8], decoded: Picture) {
        let source = Picture(width: width, height: height)
        let encoder = try JPEGEncoder(width: width, height: height, quality: 85)
        let jpeg = try source.packedYUYV().withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: width * 2) }
        return (jpeg, try Picture(decoding: jpeg))
    }

    @Test(arguments: everyOrientation)
    func theTurnedJPEGShowsTheTurnedPicture(_ orientation: FrameOrientation) throws {
        let (jpeg, input) = try Self.cameraJPEG()
        let output = try JPEGTransformer(orientation: orientation).transform(jpeg)
        let decoded = try Picture(decoding: output)
        let expected = input.turned(orientation)
        #expect(decoded.width == expected.width && decoded.height == expected.height)
        #expect(JPEGMarkers.pixelSize(in: output.withUnsafeBytes { $0 })! == (expected.width, expected.height))
        // The blocks are moved, not re-encoded: only the decoder's rounding differs from turning the decoded pixels.
        for plane in 0..<3 {
            #expect(decoded.largestDifference(from: expected, plane: plane) <= 3, "\(orientation), plane \(plane)")
        }
    }

    @Test(arguments: everyOrientation.filter { !$0.isUpright })
    func turningAFullCycleGivesTheVeryPixelsAgain(_ orientation: FrameOrientation) throws {
        let (jpeg, input) = try Self.cameraJPEG()
        let transformer = try JPEGTransformer(orientation: orientation)
        // A quarter turn comes back after four; every other operation (a flip, a half turn, a diagonal) after two.
        let cycle = orientation.flip == nil && orientation.swapsWidthAndHeight ? 4 : 2
        var turned = jpeg
        for _ in 0..<cycle { turned = try transformer.transform(turned) }
        // Lossless: the same coefficients, so exactly the same pixels, not merely close ones. Decoding and encoding
        // again would drift on every pass.
        #expect(try Picture(decoding: turned) == input, "\(orientation) × \(cycle)")
    }

    @Test func aPartialBlockAtTheEdgeIsTrimmedAndTheRestKept() throws {
        // 100x60 in 4:2:2: blocks of 16x8, so the last 4 columns and the last 4 rows are partial blocks.
        let (jpeg, input) = try Self.cameraJPEG(width: 100, height: 60)
        for orientation in everyOrientation {
            let output = try JPEGTransformer(orientation: orientation).transform(jpeg)
            let decoded = try Picture(decoding: output)
            // What is left of the camera's picture, in its own orientation: its top left part.
            let kept =
                orientation.swapsWidthAndHeight
                ? (width: decoded.height, height: decoded.width) : (width: decoded.width, height: decoded.height)
            #expect((96...100).contains(kept.width) && (56...60).contains(kept.height), "\(orientation): \(kept)")
            let expected = input.cropped(width: kept.width, height: kept.height).turned(orientation)
            // Luma alone: at a trimmed edge the decoder's chroma upsampling sees other neighbours.
            #expect(decoded.largestDifference(from: expected, plane: 0) <= 3, "\(orientation)")
        }
        // A transpose needs no trim, nor does anything when the size is whole blocks.
        let transposed = try Picture(
            decoding: JPEGTransformer(orientation: FrameOrientation(rotation: .clockwise270, flip: .horizontal))
                .transform(jpeg)
        )
        #expect(transposed.width == 60 && transposed.height == 100)
    }

    @Test func uprightGivesBackTheSameBytesAndNonJPEGsThrow() throws {
        let (jpeg, _) = try Self.cameraJPEG(width: 64, height: 48)
        #expect(try JPEGTransformer(orientation: .upright).transform(jpeg) == jpeg)
        let transformer = try JPEGTransformer(orientation: FrameOrientation(rotation: .clockwise90))
        #expect(throws: JPEGError.self) { try transformer.transform([0xFF, 0xD8, 1, 2, 0xFF, 0xD9]) }
        #expect(throws: JPEGError.self) { try transformer.transform([UInt8](repeating: 7, count: 1000)) }
        // The transformer is still usable after a failure.
        #expect(try Picture(decoding: transformer.transform(jpeg)).width == 48)
    }

    @Test func theEmulatedCamerasImagesTurn() throws {
        // Real camera-made JPEGs (the emulated camera's images, from a webcam), not only our encoder's.
        for image in EmulatedCamera.bundledImages {
            let input = try Picture(decoding: image)
            let orientation = FrameOrientation(rotation: .clockwise90, flip: .vertical)
            let decoded = try Picture(decoding: JPEGTransformer(orientation: orientation).transform(image))
            let expected = input.turned(orientation)
            #expect(decoded.width == expected.width && decoded.height == expected.height)
            #expect(decoded.largestDifference(from: expected, plane: 0) <= 3)
        }
    }
}
