import CTurboJPEG

/// A JPEG decoded to 8-bit grayscale with libturbojpeg, to check what a driver or encoder produced.
public struct DecodedJPEG: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The luma of each pixel, row after row.
    public let gray: [UInt8]

    /// Why the bytes could not be decoded.
    public struct Failure: Error, CustomStringConvertible {
        /// libturbojpeg's message.
        public let description: String
    }

    /// The largest width or height decoded; a header that claims more is refused rather than allocated for.
    public static let maximumSide = 16384

    /// Decodes a JPEG; any bytes, however malformed, throw rather than trap.
    /// - Throws: ``Failure`` when the bytes are not a JPEG libturbojpeg can decode, or claim a width or height over
    ///   ``maximumSide``.
    public init(_ jpeg: [UInt8]) throws {
        guard let handle = tjInitDecompress() else { throw Failure(description: "tjInitDecompress failed") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, jpeg, UInt(jpeg.count), &width, &height, &subsampling, &colorspace) == 0
        else { throw Failure(description: String(cString: tjGetErrorStr2(handle))) }
        guard (1...Int32(Self.maximumSide)).contains(width), (1...Int32(Self.maximumSide)).contains(height) else {
            throw Failure(description: "the header claims \(width)x\(height) pixels: over \(Self.maximumSide) a side")
        }
        var gray = [UInt8](repeating: 0, count: Int(width) * Int(height))
        let result = gray.withUnsafeMutableBufferPointer { pixels in
            tjDecompress2(
                handle,
                jpeg,
                UInt(jpeg.count),
                pixels.baseAddress,
                width,
                0,
                height,
                Int32(TJPF_GRAY.rawValue),
                0
            )
        }
        guard result == 0 else { throw Failure(description: String(cString: tjGetErrorStr2(handle))) }
        self.width = Int(width)
        self.height = Int(height)
        self.gray = gray
    }

    /// The luma at a pixel.
    public func pixel(x: Int, y: Int) -> UInt8 { gray[y * width + x] }

    /// The largest difference between the image's luma and what it should be, over a grid of sample pixels: a
    /// check that survives JPEG's loss but not a wrong size, shear or offset.
    /// - Parameters:
    ///   - step: the distance between sampled pixels.
    ///   - expected: the luma a pixel should have.
    public func largestDifference(step: Int = 7, from expected: (_ x: Int, _ y: Int) -> Int) -> Int {
        var largest = 0
        for y in stride(from: 0, to: height, by: step) {
            for x in stride(from: 0, to: width, by: step) {
                largest = max(largest, abs(Int(pixel(x: x, y: y)) - expected(x, y)))
            }
        }
        return largest
    }
}
