import CTurboJPEG

/// A JPEG decoded to 8-bit grayscale with libturbojpeg, to check what encoders produced.
struct DecodedJPEG {
    let width: Int
    let height: Int
    let gray: [UInt8]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(_ jpeg: [UInt8]) throws {
        guard let handle = tjInitDecompress() else { throw Failure(description: "tjInitDecompress failed") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, jpeg, UInt(jpeg.count), &width, &height, &subsampling, &colorspace) == 0
        else { throw Failure(description: String(cString: tjGetErrorStr2(handle))) }
        var gray = [UInt8](repeating: 0, count: Int(width * height))
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

    func pixel(x: Int, y: Int) -> UInt8 { gray[y * width + x] }
}
