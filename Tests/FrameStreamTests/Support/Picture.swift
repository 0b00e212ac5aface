import CTurboJPEG
import Foundation
import FrameStream
import Testing

/// An image as three full-resolution planes (luma, blue and red difference), for comparing pictures pixel by pixel;
/// chroma of a subsampled JPEG is repeated over the pixels each sample covers.
struct Picture: Equatable {
    var width: Int
    var height: Int
    /// Luma, blue difference, red difference; each `width * height`, row after row.
    var planes: [[UInt8]]

    init(width: Int, height: Int, planes: [[UInt8]]) {
        self.width = width
        self.height = height
        self.planes = planes
    }

    /// A smooth camera-like picture that no flip or rotation leaves unchanged: luma rises to the right and, faster,
    /// towards the bottom, with a bright blob near the top left; blue difference rises to the right, red towards
    /// the bottom.
    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        var luma = [UInt8](repeating: 0, count: width * height)
        var blue = luma
        var red = luma
        let sigma = Double(min(width, height)) / 6
        for y in 0..<height {
            for x in 0..<width {
                let fx = Double(x) / Double(width)
                let fy = Double(y) / Double(height)
                let dx = Double(x) - Double(width) * 0.25
                let dy = Double(y) - Double(height) * 0.3
                let blob = 50 * exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))
                luma[y * width + x] = UInt8(20 + 60 * fx + 100 * fy * fy + blob)
                blue[y * width + x] = UInt8(90 + 80 * fx)
                red[y * width + x] = UInt8(170 - 70 * fy)
            }
        }
        planes = [luma, blue, red]
    }

    /// Decodes a JPEG into its planes with libturbojpeg, without colour conversion.
    init(decoding jpeg: [UInt8]) throws {
        let handle = try #require(tjInitDecompress())
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let header = tjDecompressHeader3(handle, jpeg, UInt(jpeg.count), &width, &height, &subsampling, &colorspace)
        try #require(header == 0)
        let sizes = (0..<3).map { component in
            (
                Int(tjPlaneWidth(Int32(component), width, subsampling)),
                Int(tjPlaneHeight(Int32(component), height, subsampling))
            )
        }
        var luma = [UInt8](repeating: 0, count: sizes[0].0 * sizes[0].1)
        var blue = [UInt8](repeating: 0, count: sizes[1].0 * sizes[1].1)
        var red = [UInt8](repeating: 0, count: sizes[2].0 * sizes[2].1)
        let result = luma.withUnsafeMutableBufferPointer { y in
            blue.withUnsafeMutableBufferPointer { u in
                red.withUnsafeMutableBufferPointer { v in
                    var planes: [UnsafeMutablePointer<UInt8>?] = [y.baseAddress, u.baseAddress, v.baseAddress]
                    return tjDecompressToYUVPlanes(handle, jpeg, UInt(jpeg.count), &planes, width, nil, height, 0)
                }
            }
        }
        let native = [luma, blue, red]
        try #require(result == 0, "\(String(cString: tjGetErrorStr2(handle)))")
        self.width = Int(width)
        self.height = Int(height)
        planes = (0..<3).map { component in
            let (planeWidth, planeHeight) = sizes[component]
            var full = [UInt8](repeating: 0, count: Int(width) * Int(height))
            for y in 0..<Int(height) {
                for x in 0..<Int(width) {
                    let px = x * planeWidth / Int(width)
                    let py = y * planeHeight / Int(height)
                    full[y * Int(width) + x] = native[component][py * planeWidth + px]
                }
            }
            return full
        }
    }

    subscript(plane: Int, x: Int, y: Int) -> UInt8 { planes[plane][y * width + x] }

    /// The same picture made of the pixels each 2x1 (4:2:2) or 2x2 (4:2:0) block shares: its chroma averaged the way
    /// a camera subsamples it, so that it can be compared with what an encoder of that subsampling produced.
    func packedYUYV() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: width * height * 2)
        for y in 0..<height {
            for x in 0..<width {
                bytes[(y * width + x) * 2] = self[0, x, y]
                let pair = x & ~1
                let plane = x % 2 == 0 ? 1 : 2
                bytes[(y * width + x) * 2 + 1] = UInt8(
                    (Int(self[plane, pair, y]) + Int(self[plane, min(pair + 1, width - 1), y]) + 1) / 2
                )
            }
        }
        return bytes
    }

    /// Planar 4:2:0 (I420): luma, then each chroma plane at half width and half height, averaged over 2x2.
    func planarI420() -> [UInt8] {
        let chromaWidth = (width + 1) / 2
        let chromaHeight = (height + 1) / 2
        var bytes = planes[0]
        for plane in 1...2 {
            for cy in 0..<chromaHeight {
                for cx in 0..<chromaWidth {
                    var sum = 0
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        sum += Int(self[plane, min(2 * cx + dx, width - 1), min(2 * cy + dy, height - 1)])
                    }
                    bytes.append(UInt8((sum + 2) / 4))
                }
            }
        }
        return bytes
    }

    /// The picture seen in a mirror, by plain pixel math.
    func flipped(_ flip: FrameOrientation.Flip) -> Picture {
        var result = self
        for plane in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    let (fromX, fromY) = flip == .horizontal ? (width - 1 - x, y) : (x, height - 1 - y)
                    result.planes[plane][y * width + x] = self[plane, fromX, fromY]
                }
            }
        }
        return result
    }

    /// The picture turned a quarter clockwise: its left column, read from the bottom up, becomes its top row.
    func rotatedClockwise() -> Picture {
        var result = Picture(width: height, height: width, planes: planes)
        for plane in 0..<3 {
            for y in 0..<result.height {
                for x in 0..<result.width {
                    result.planes[plane][y * result.width + x] = self[plane, y, height - 1 - x]
                }
            }
        }
        return result
    }

    /// The picture flipped, then rotated, one plain step after the other.
    func turned(_ orientation: FrameOrientation) -> Picture {
        var result = orientation.flip.map(flipped) ?? self
        for _ in 0..<(orientation.rotation.degrees / 90) { result = result.rotatedClockwise() }
        return result
    }

    /// The top left `width` × `height` of the picture.
    func cropped(width: Int, height: Int) -> Picture {
        Picture(
            width: width,
            height: height,
            planes: planes.map { plane in
                (0..<height).flatMap { y in plane[(y * self.width)..<(y * self.width + width)] }
            }
        )
    }

    /// The largest difference of any pixel in `plane` from the same pixel of `other` (of the same size).
    func largestDifference(from other: Picture, plane: Int) -> Int {
        zip(planes[plane], other.planes[plane]).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }
}

/// Every orientation: four rotations, each without a flip and with either.
let everyOrientation: [FrameOrientation] = FrameOrientation.Rotation.allCases.flatMap { rotation in
    [nil, FrameOrientation.Flip.horizontal, .vertical].map { FrameOrientation(rotation: rotation, flip: $0) }
}
