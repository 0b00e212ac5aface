import CTurboJPEG

/// Turns JPEG images (``FrameOrientation``) without decoding them: libturbojpeg's lossless transform, which
/// rearranges the compressed blocks and re-codes only their entropy coding. The picture loses nothing, however often
/// it is turned: four quarter turns give back the very same image.
///
/// A JPEG is made of blocks (MCUs) of 8 or 16 pixels a side, by its chroma subsampling. When a flip or rotation would
/// move a partial block at the right or bottom edge to the left or top, a lossless transform is impossible; the
/// transformer then trims that partial block (`TJXOPT_TRIM`, as `jpegtran -trim` does): at most 15 columns at the
/// right edge or 15 rows at the bottom of the camera's picture are lost, and the image header gives the size that
/// remains. Common camera sizes (640x480, 1280x720, 1920x1080 in 4:2:2) are whole blocks and lose nothing. The
/// alternative, decoding, turning and encoding again, would keep those pixels, but it loses quality on every frame
/// and needs a quality to encode at.
///
/// Cost, measured (Docs/benchmarks.md): a flip or a half turn costs about as much as encoding the frame once, and
/// decoding and encoding again would cost 1.3 to 1.8 times more; a quarter turn costs about three encodes, slightly
/// more than decoding and encoding again, the price of losing nothing.
///
/// Other markers of the camera's JPEG (EXIF, comments, ICC profiles) are not copied (`TJXOPT_COPYNONE`): an EXIF
/// orientation tag would be wrong once the picture is turned.
///
/// libturbojpeg 2.1 (Debian 12) has no `tj3Transform`; this uses `tjInitTransform` and `tjTransform`, which it has.
/// A transform of a rotation by 90° or 270° turns a 4:2:2 image into a 4:4:0 one (its chroma is halved vertically
/// instead of horizontally), which libjpeg-turbo and browsers decode like any other.
///
/// One transformer belongs to one camera run: it is not `Sendable`, as a TurboJPEG handle must not be used from two
/// threads at once. Its output buffer is allocated once and grows only for a larger image.
public final class JPEGTransformer {
    /// The flip and rotation done to every image.
    public let orientation: FrameOrientation

    private let handle: tjhandle
    private var output: UnsafeMutablePointer<UInt8>
    private var outputCapacity: Int

    /// Creates a transformer.
    /// - Throws: ``JPEGError/libraryFailed(_:)`` when libturbojpeg cannot start.
    public init(orientation: FrameOrientation) throws(JPEGError) {
        guard let handle = tjInitTransform() else { throw .libraryFailed(String(cString: tjGetErrorStr2(nil))) }
        self.orientation = orientation
        self.handle = handle
        outputCapacity = 0
        output = .allocate(capacity: 1)
    }

    deinit {
        tjDestroy(handle)
        output.deallocate()
    }

    /// The turned image; an upright ``orientation`` gives back the same bytes.
    /// - Throws: ``JPEGError/libraryFailed(_:)`` for bytes that are not a JPEG libturbojpeg can read (a warning about
    ///   damaged data, which leaves a usable image, is not an error).
    public func transform(_ jpeg: [UInt8]) throws(JPEGError) -> [UInt8] {
        if orientation.isUpright { return jpeg }
        let result: Result<[UInt8], JPEGError> = jpeg.withUnsafeBytes { bytes in
            Result { () throws(JPEGError) in try transform(bytes) }
        }
        return try result.get()
    }

    /// The turned copy of a JPEG in memory the caller owns, such as a capture buffer.
    public func transform(_ jpeg: UnsafeRawBufferPointer) throws(JPEGError) -> [UInt8] {
        if orientation.isUpright { return [UInt8](jpeg) }
        guard let source = jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), jpeg.count > 2 else {
            throw .libraryFailed("not a JPEG image: \(jpeg.count) bytes")
        }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, source, UInt(jpeg.count), &width, &height, &subsampling, &colorspace) == 0
        else { throw .libraryFailed(String(cString: tjGetErrorStr2(handle))) }
        // Tables alone (SOI, EOI and nothing between) pass the header check with a size of zero.
        guard width > 0, height > 0 else { throw .libraryFailed("not a JPEG image: no frame header") }
        // The largest a transform of any subsampling can write: whole 16x16 blocks, 4:4:4 (the most bytes a pixel).
        let side = Int32(max(width, height) + 16)
        reserve(Int(tjBufSize(side, side, Int32(TJSAMP_444.rawValue))))

        var transform = tjtransform()
        transform.op = Int32(Self.libraryOperation(orientation.operation).rawValue)
        transform.options = TJXOPT_TRIM | TJXOPT_COPYNONE
        var destination: UnsafeMutablePointer<UInt8>? = output
        var size: UInt = UInt(outputCapacity)
        output[0] = 0  // so that a transform that wrote nothing cannot pass for one that did
        let status = tjTransform(handle, source, UInt(jpeg.count), 1, &destination, &size, &transform, TJFLAG_NOREALLOC)
        // libturbojpeg 2.1 returns -1 for warnings too ("Corrupt JPEG data: 2 extraneous bytes"), as many webcams'
        // frames give; the image it wrote is then complete.
        let wroteImage = size >= 4 && size < UInt(outputCapacity) && output[0] == 0xFF && output[1] == 0xD8
        guard status == 0 || (tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) && wroteImage) else {
            throw .libraryFailed(String(cString: tjGetErrorStr2(handle)))
        }
        return [UInt8](UnsafeBufferPointer(start: output, count: Int(size)))
    }

    private func reserve(_ capacity: Int) {
        guard capacity > outputCapacity else { return }
        output.deallocate()
        output = .allocate(capacity: capacity)
        outputCapacity = capacity
    }

    static func libraryOperation(_ operation: FrameOrientation.Operation) -> TJXOP {
        switch operation {
        case .identity: TJXOP_NONE
        case .flipHorizontal: TJXOP_HFLIP
        case .flipVertical: TJXOP_VFLIP
        case .rotate180: TJXOP_ROT180
        case .transpose: TJXOP_TRANSPOSE
        case .rotate90: TJXOP_ROT90
        case .rotate270: TJXOP_ROT270
        case .transverse: TJXOP_TRANSVERSE
        }
    }
}
