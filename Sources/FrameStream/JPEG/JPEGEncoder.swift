import CTurboJPEG

/// Encodes raw camera images as JPEG with libturbojpeg, reusing its compressor and buffers from frame to frame.
///
/// With an ``orientation`` the encoder turns the image's planes before it compresses them, so the JPEG comes out
/// turned at no loss beyond the encoding itself: a rotation by 90° or 270° swaps width and height (``encodedSize``),
/// and turns 4:2:2 chroma (YUYV) into 4:4:0, the same samples laid the other way, instead of resampling them.
///
/// One encoder belongs to one camera run: it is not `Sendable`, as a TurboJPEG handle must not be used from two
/// threads at once. Encoding allocates only the returned frame's bytes (which every viewer then shares); the
/// compressor, the output buffer and the planes for YUYV conversion are allocated once.
public final class JPEGEncoder {
    /// Image width in pixels.
    public let width: Int
    /// Image height in pixels.
    public let height: Int
    /// JPEG quality, 1 to 100.
    public let quality: Int
    /// The flip and rotation done to every image before it is compressed.
    public let orientation: FrameOrientation
    /// The size of the JPEGs: ``width`` by ``height``, or the other way round for a quarter turn.
    public var encodedSize: FrameSize { orientation.orientedSize(of: FrameSize(width: width, height: height)) }

    private let handle: tjhandle
    private let outputCapacity: Int
    private let output: UnsafeMutablePointer<UInt8>
    private var luma: [UInt8]
    private var blueDifference: [UInt8]
    private var redDifference: [UInt8]
    /// The turned planes, for an orientation that is not upright (else empty).
    private var turned: [[UInt8]]

    /// Creates an encoder for images of one size.
    /// - Parameters:
    ///   - width: the camera image's width in pixels, before it is turned.
    ///   - height: the camera image's height in pixels, before it is turned.
    ///   - quality: JPEG quality, 1 to 100.
    ///   - orientation: how to turn every image before compressing it; upright by default.
    /// - Throws: ``JPEGError`` for a size or quality out of range, or when libturbojpeg cannot start.
    public init(
        width: Int,
        height: Int,
        quality: Int = 80,
        orientation: FrameOrientation = .upright
    )
        throws(JPEGError)
    {
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw .invalidSize(width: width, height: height)
        }
        guard (1...100).contains(quality) else { throw .invalidQuality(quality) }
        guard let handle = tjInitCompress() else { throw .libraryFailed(String(cString: tjGetErrorStr2(nil))) }
        self.width = width
        self.height = height
        self.quality = quality
        self.orientation = orientation
        self.handle = handle
        // Turned, the image may be 4:4:0, whose blocks are 16 pixels high: room for a 4:4:4 one with a block more.
        outputCapacity = Int(
            orientation.isUpright
                ? tjBufSize(Int32(width), Int32(height), Int32(TJSAMP_422.rawValue))
                : tjBufSize(Int32(width + 16), Int32(height + 16), Int32(TJSAMP_444.rawValue))
        )
        output = .allocate(capacity: outputCapacity)
        let chromaWidth = (width + 1) / 2
        // One byte more: for an odd width libturbojpeg reads each luma row one byte further (tjPlaneWidth), which for
        // the last row would be memory past the plane, and the JPEG would differ from one encoder to the next.
        luma = [UInt8](repeating: 0, count: width * height + 1)
        blueDifference = [UInt8](repeating: 128, count: chromaWidth * height)
        redDifference = [UInt8](repeating: 128, count: chromaWidth * height)
        // Large enough for the turned planes of 4:2:2 and of 4:2:0 of an even size; grown at the first frame otherwise.
        turned =
            orientation.isUpright
            ? []
            : [width * height, chromaWidth * height, chromaWidth * height].map {
                [UInt8](repeating: 128, count: $0)
            }
    }

    deinit {
        tjDestroy(handle)
        output.deallocate()
    }

    /// Encodes a packed YUYV (YUY2, 4:2:2) image, as most webcams deliver uncompressed.
    /// - Parameters:
    ///   - image: the image's bytes, at least `bytesPerLine * height`.
    ///   - bytesPerLine: the length of one row in `image`, padding included (at least `width * 2`).
    public func encodeYUYV(_ image: UnsafeRawBufferPointer, bytesPerLine: Int) throws(JPEGError) -> [UInt8] {
        guard bytesPerLine >= width * 2, image.count >= bytesPerLine * (height - 1) + width * 2 else {
            throw .imageTooSmall(expected: bytesPerLine * height, actual: image.count)
        }
        let chromaWidth = (width + 1) / 2
        luma.withUnsafeMutableBufferPointer { y in
            blueDifference.withUnsafeMutableBufferPointer { u in
                redDifference.withUnsafeMutableBufferPointer { v in
                    for row in 0..<height {
                        let source = image.baseAddress!.advanced(by: row * bytesPerLine)
                            .assumingMemoryBound(to: UInt8.self)
                        let yRow = row * width
                        let cRow = row * chromaWidth
                        for pair in 0..<(width / 2) {
                            y[yRow + 2 * pair] = source[4 * pair]
                            u[cRow + pair] = source[4 * pair + 1]
                            y[yRow + 2 * pair + 1] = source[4 * pair + 2]
                            v[cRow + pair] = source[4 * pair + 3]
                        }
                        if width % 2 == 1 {
                            let last = width / 2
                            y[yRow + width - 1] = source[4 * last]
                            u[cRow + last] = source[4 * last + 1]
                            v[cRow + last] = source[4 * last + 3]
                        }
                    }
                }
            }
        }
        return try encodePlanes(subsampling: TJSAMP_422)
    }

    /// Encodes a planar YUV 4:2:0 image (I420, `YU12`): the luma plane, then the blue- and red-difference planes
    /// at half width and half height, as libv4l2 converts other raw formats to.
    /// - Parameters:
    ///   - image: the image's bytes.
    ///   - bytesPerLine: the length of one luma row, padding included; chroma rows are half of it.
    public func encodeI420(_ image: UnsafeRawBufferPointer, bytesPerLine: Int) throws(JPEGError) -> [UInt8] {
        let chromaStride = bytesPerLine / 2
        let chromaHeight = (height + 1) / 2
        let needed = bytesPerLine * height + 2 * chromaStride * chromaHeight
        guard bytesPerLine >= width, image.count >= needed else {
            throw .imageTooSmall(expected: needed, actual: image.count)
        }
        let base = image.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if !orientation.isUpright {
            return try compressTurned(
                planes: [
                    UnsafePointer(base), UnsafePointer(base + bytesPerLine * height),
                    UnsafePointer(base + bytesPerLine * height + chromaStride * chromaHeight),
                ],
                strides: [bytesPerLine, chromaStride, chromaStride],
                subsampling: TJSAMP_420
            )
        }
        var planes: [UnsafePointer<UInt8>?] = [
            UnsafePointer(base),
            UnsafePointer(base + bytesPerLine * height),
            UnsafePointer(base + bytesPerLine * height + chromaStride * chromaHeight),
        ]
        var strides: [Int32] = [Int32(bytesPerLine), Int32(chromaStride), Int32(chromaStride)]
        return try compress(planes: &planes, strides: &strides, subsampling: TJSAMP_420)
    }

    /// Encodes a 4:2:2 image drawn straight into the encoder's planes.
    /// - Parameter draw: fills the luma plane (`width * height`) and the two chroma planes (`(width + 1) / 2 *
    ///   height` each: blue difference, then red difference).
    public func encodeYUV422(
        _ draw: (
            _ luma: UnsafeMutableBufferPointer<UInt8>,
            _ blueDifference: UnsafeMutableBufferPointer<UInt8>,
            _ redDifference: UnsafeMutableBufferPointer<UInt8>
        ) -> Void
    ) throws(JPEGError) -> [UInt8] {
        luma.withUnsafeMutableBufferPointer { y in
            blueDifference.withUnsafeMutableBufferPointer { u in
                redDifference.withUnsafeMutableBufferPointer { v in
                    draw(UnsafeMutableBufferPointer(rebasing: y[0..<(width * height)]), u, v)
                }
            }
        }
        return try encodePlanes(subsampling: TJSAMP_422)
    }

    private func encodePlanes(subsampling: TJSAMP) throws(JPEGError) -> [UInt8] {
        let chromaWidth = (width + 1) / 2
        let result: Result<[UInt8], JPEGError> = luma.withUnsafeBufferPointer { y in
            blueDifference.withUnsafeBufferPointer { u in
                redDifference.withUnsafeBufferPointer { v in
                    Result { () throws(JPEGError) in
                        guard orientation.isUpright else {
                            return try compressTurned(
                                planes: [y.baseAddress!, u.baseAddress!, v.baseAddress!],
                                strides: [width, chromaWidth, chromaWidth],
                                subsampling: subsampling
                            )
                        }
                        var planes: [UnsafePointer<UInt8>?] = [y.baseAddress, u.baseAddress, v.baseAddress]
                        var strides: [Int32] = [Int32(width), Int32(chromaWidth), Int32(chromaWidth)]
                        return try compress(planes: &planes, strides: &strides, subsampling: subsampling)
                    }
                }
            }
        }
        return try result.get()
    }

    /// Turns the planes of an image (4:2:2 or 4:2:0, ``width`` by ``height``) into ``turned`` and compresses those.
    ///
    /// Each plane is turned on its own, chroma at its own resolution: a quarter turn lays 4:2:2's chroma (half
    /// width, full height) as full width and half height, which is 4:4:0, and 4:2:0 stays 4:2:0.
    private func compressTurned(
        planes: [UnsafePointer<UInt8>],
        strides: [Int],
        subsampling: TJSAMP
    ) throws(JPEGError) -> [UInt8] {
        let operation = orientation.operation
        let turnedSubsampling = operation.swapsWidthAndHeight && subsampling == TJSAMP_422 ? TJSAMP_440 : subsampling
        let chromaHeight = subsampling == TJSAMP_420 ? (height + 1) / 2 : height
        let sizes = [(width, height), ((width + 1) / 2, chromaHeight), ((width + 1) / 2, chromaHeight)]
        let output = encodedSize
        var turnedStrides: [Int32] = []
        for index in 0..<3 {
            let (planeWidth, planeHeight) = sizes[index]
            let visible = operation.swapsWidthAndHeight ? (planeHeight, planeWidth) : (planeWidth, planeHeight)
            // libturbojpeg reads whole chroma blocks' worth of each plane: a luma plane of an odd size is read one
            // column or row further (tjPlaneWidth, tjPlaneHeight). That padding repeats the last column and row.
            let component = Int32(index)
            let sub = Int32(turnedSubsampling.rawValue)
            let padded = (
                Int(tjPlaneWidth(component, Int32(output.width), sub)),
                Int(tjPlaneHeight(component, Int32(output.height), sub))
            )
            if turned[index].count < padded.0 * padded.1 {
                turned[index] = [UInt8](repeating: 128, count: padded.0 * padded.1)
            }
            turnedStrides.append(Int32(padded.0))
            turned[index].withUnsafeMutableBufferPointer { destination in
                let base = destination.baseAddress!
                operation.apply(
                    source: planes[index],
                    sourceStride: strides[index],
                    width: planeWidth,
                    height: planeHeight,
                    destination: base,
                    destinationStride: padded.0
                )
                for row in 0..<visible.1 where visible.0 < padded.0 {
                    let line = base + row * padded.0
                    line.advanced(by: visible.0).update(repeating: line[visible.0 - 1], count: padded.0 - visible.0)
                }
                for row in visible.1..<max(visible.1, padded.1) {
                    (base + row * padded.0).update(from: base + (visible.1 - 1) * padded.0, count: padded.0)
                }
            }
        }
        let result: Result<[UInt8], JPEGError> = turned[0].withUnsafeBufferPointer { y in
            turned[1].withUnsafeBufferPointer { u in
                turned[2].withUnsafeBufferPointer { v in
                    var planes: [UnsafePointer<UInt8>?] = [y.baseAddress, u.baseAddress, v.baseAddress]
                    return Result { () throws(JPEGError) in
                        try compress(planes: &planes, strides: &turnedStrides, subsampling: turnedSubsampling)
                    }
                }
            }
        }
        return try result.get()
    }

    private func compress(
        planes: inout [UnsafePointer<UInt8>?],
        strides: inout [Int32],
        subsampling: TJSAMP
    ) throws(JPEGError) -> [UInt8] {
        var size = UInt(outputCapacity)
        var destination: UnsafeMutablePointer<UInt8>? = output
        let result = tjCompressFromYUVPlanes(
            handle,
            &planes,
            Int32(encodedSize.width),
            &strides,
            Int32(encodedSize.height),
            Int32(subsampling.rawValue),
            &destination,
            &size,
            Int32(quality),
            TJFLAG_NOREALLOC | TJFLAG_FASTDCT
        )
        guard result == 0 else { throw .libraryFailed(String(cString: tjGetErrorStr2(handle))) }
        return [UInt8](UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

/// Why an image could not be encoded as JPEG.
///
/// Not frozen: later versions may add cases, so a `switch` over it needs a `default`; match the cases you handle.
public enum JPEGError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Width or height is not from 1 to 16384.
    case invalidSize(width: Int, height: Int)
    /// Quality is not from 1 to 100.
    case invalidQuality(Int)
    /// The image has fewer bytes than its size and row length need.
    case imageTooSmall(expected: Int, actual: Int)
    /// libturbojpeg reported an error.
    case libraryFailed(String)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .invalidSize(let width, let height): "invalid image size \(width)x\(height): expected 1 to 16384 each"
        case .invalidQuality(let quality): "invalid JPEG quality \(quality): expected 1 to 100"
        case .imageTooSmall(let expected, let actual):
            "camera image has \(actual) bytes, fewer than the \(expected) its size needs: is the format right?"
        case .libraryFailed(let message): "JPEG encoding failed: \(message)"
        }
    }
}
