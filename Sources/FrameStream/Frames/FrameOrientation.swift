/// How a camera's pictures are turned before anyone sees them: a mirror image, then a clockwise rotation.
///
/// The order is fixed: the picture is first flipped (if ``flip`` is set), then rotated clockwise by ``rotation``,
/// the order in which EXIF describes its mirrored orientations ("mirror horizontal and rotate 90° clockwise"). Every
/// combination is one of the eight ways to lay a picture on a rectangle, and each is done in one step, never as a
/// flip followed by a second pass.
///
/// ```swift
/// // A camera mounted upside down on the ceiling:
/// let ceiling = FrameOrientation(rotation: .clockwise180)
/// // A camera that films a mirror, lying on its side:
/// let odd = FrameOrientation(rotation: .clockwise90, flip: .horizontal)
/// ```
///
/// A rotation by 90° or 270° swaps the picture's width and height (``orientedSize(of:)``).
public struct FrameOrientation: Sendable, Hashable, CustomStringConvertible {
    /// A clockwise rotation by a multiple of 90°.
    public enum Rotation: Int, Sendable, Hashable, CaseIterable {
        /// Upright: no rotation.
        case none = 0
        /// A quarter turn clockwise: the picture's left edge becomes its top.
        case clockwise90 = 90
        /// Upside down.
        case clockwise180 = 180
        /// A quarter turn counter-clockwise: the picture's right edge becomes its top.
        case clockwise270 = 270

        /// The rotation by `degrees` clockwise: 0, 90, 180 or 270 (or -90 for 270); `nil` for any other angle.
        public init?(degrees: Int) {
            self.init(rawValue: degrees == -90 ? 270 : degrees)
        }

        /// The angle in degrees clockwise.
        public var degrees: Int { rawValue }
    }

    /// A mirror image.
    public enum Flip: String, Sendable, Hashable, CaseIterable {
        /// Left and right swapped, as in a mirror beside you.
        case horizontal
        /// Top and bottom swapped, as in a lake.
        case vertical
    }

    /// The clockwise rotation, done after the flip.
    public var rotation: Rotation
    /// The mirror image, done before the rotation; `nil` for none.
    public var flip: Flip?

    /// Creates an orientation: the flip first, then the rotation.
    public init(rotation: Rotation = .none, flip: Flip? = nil) {
        self.rotation = rotation
        self.flip = flip
    }

    /// The picture as the camera takes it: nothing turned.
    public static let upright = FrameOrientation()

    /// Whether the picture stays as it is.
    public var isUpright: Bool { operation == .identity }

    /// Whether width and height trade places (a rotation by 90° or 270°).
    public var swapsWidthAndHeight: Bool { rotation == .clockwise90 || rotation == .clockwise270 }

    /// The size of a picture of `size` once turned.
    public func orientedSize(of size: FrameSize) -> FrameSize {
        swapsWidthAndHeight ? FrameSize(width: size.height, height: size.width) : size
    }

    /// `rotate 90, flip horizontal`, `upright`.
    public var description: String {
        var parts: [String] = []
        if let flip { parts.append("flip \(flip.rawValue)") }
        if rotation != .none { parts.append("rotate \(rotation.degrees)") }
        return parts.isEmpty ? "upright" : parts.joined(separator: ", then ")
    }

    /// The one operation that does the flip and the rotation together.
    var operation: Operation {
        switch (flip, rotation) {
        case (nil, .none): .identity
        case (nil, .clockwise90): .rotate90
        case (nil, .clockwise180): .rotate180
        case (nil, .clockwise270): .rotate270
        case (.horizontal, .none): .flipHorizontal
        case (.horizontal, .clockwise90): .transverse
        case (.horizontal, .clockwise180): .flipVertical
        case (.horizontal, .clockwise270): .transpose
        case (.vertical, .none): .flipVertical
        case (.vertical, .clockwise90): .transpose
        case (.vertical, .clockwise180): .flipHorizontal
        case (.vertical, .clockwise270): .transverse
        }
    }

    /// The eight ways to lay a picture on a rectangle, as libjpeg's `jpegtran` names them.
    enum Operation: Sendable, Hashable {
        case identity, flipHorizontal, flipVertical, rotate180
        /// Across the diagonal from the top left to the bottom right: (x, y) becomes (y, x).
        case transpose
        case rotate90
        case rotate270
        /// Across the diagonal from the top right to the bottom left.
        case transverse

        var swapsWidthAndHeight: Bool {
            switch self {
            case .identity, .flipHorizontal, .flipVertical, .rotate180: false
            case .transpose, .rotate90, .rotate270, .transverse: true
            }
        }

        /// Writes the turned copy of a plane of `width` × `height` bytes (rows `sourceStride` apart) into
        /// `destination`, whose rows are `destinationStride` apart and, for an operation that swaps width and height,
        /// `height` bytes long.
        func apply(
            source: UnsafePointer<UInt8>,
            sourceStride: Int,
            width: Int,
            height: Int,
            destination: UnsafeMutablePointer<UInt8>,
            destinationStride: Int
        ) {
            let outputWidth = swapsWidthAndHeight ? height : width
            let outputHeight = swapsWidthAndHeight ? width : height
            switch self {
            case .identity, .flipHorizontal, .flipVertical, .rotate180:
                let mirrored = self == .flipHorizontal || self == .rotate180
                let upsideDown = self == .flipVertical || self == .rotate180
                for y in 0..<outputHeight {
                    let from = source + (upsideDown ? height - 1 - y : y) * sourceStride
                    let to = destination + y * destinationStride
                    if mirrored {
                        // Eight bytes at a time: a word stored byte-swapped is its bytes in reverse order.
                        var x = 0
                        while x + 8 <= outputWidth {
                            let word = UnsafeRawPointer(from + (width - 8 - x)).loadUnaligned(as: UInt64.self)
                            UnsafeMutableRawPointer(to + x).storeBytes(of: word.byteSwapped, as: UInt64.self)
                            x += 8
                        }
                        while x < outputWidth {
                            to[x] = from[width - 1 - x]
                            x += 1
                        }
                    } else {
                        to.update(from: from, count: outputWidth)
                    }
                }
            case .transpose, .rotate90, .rotate270, .transverse:
                // Output row y is source column y (or width - 1 - y), read top down (or bottom up). In tiles, so that
                // the rows read and written stay in the cache.
                let bottomUp = self == .rotate90 || self == .transverse
                let rightToLeft = self == .rotate270 || self == .transverse
                let tile = 32
                for tileY in stride(from: 0, to: outputHeight, by: tile) {
                    for tileX in stride(from: 0, to: outputWidth, by: tile) {
                        for y in tileY..<min(tileY + tile, outputHeight) {
                            let from = source + (rightToLeft ? width - 1 - y : y)
                            let to = destination + y * destinationStride
                            for x in tileX..<min(tileX + tile, outputWidth) {
                                to[x] = from[(bottomUp ? height - 1 - x : x) * sourceStride]
                            }
                        }
                    }
                }
            }
        }
    }
}
