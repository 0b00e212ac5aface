// Times turning a camera frame, in one run, so that the costs can be compared as ratios (absolute figures differ
// up to 3x between machines). Built by Scripts/orientation-timing.sh from the library's own source files, -O.
//
//  - lossless: JPEGTransformer.transform (libturbojpeg's tjTransform, TJXOPT_TRIM | TJXOPT_COPYNONE)
//  - decode + turn + encode: tjDecompressToYUVPlanes, then JPEGEncoder(orientation:) turns the planes and encodes
//    (what a transform that is not lossless would cost)
//  - raw: JPEGEncoder.encodeYUYV upright and turned (the cost the turn adds on the V4L2 raw path)
import CTurboJPEG

#if canImport(Glibc)
import Glibc
#endif

/// A camera-like YUYV frame: gradients with a little noise, not flat colour.
func cameraYUYV(width: Int, height: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: width * height * 2)
    var seed: UInt32 = 12345
    for y in 0..<height {
        for x in 0..<width {
            seed = seed &* 1_103_515_245 &+ 12345
            let noise = Int(seed >> 28) - 8
            bytes[(y * width + x) * 2] = UInt8(clamping: 30 + x * 150 / width + y * 60 / height + noise)
            let chroma = x % 2 == 0 ? 100 + y * 50 / height : 150 - x * 40 / width
            bytes[(y * width + x) * 2 + 1] = UInt8(clamping: chroma)
        }
    }
    return bytes
}

/// The median time of one call of each body, in microseconds, over `rounds` batches of `batch` calls. The bodies take
/// turns, batch by batch, so that a change in the machine's load during the run weighs on all of them alike.
func microseconds(rounds: Int = 15, batch: Int = 20, _ bodies: [() throws -> Void]) throws -> [Double] {
    let clock = ContinuousClock()
    for body in bodies { for _ in 0..<5 { try body() } }
    var times = [[Double]](repeating: [], count: bodies.count)
    for _ in 0..<rounds {
        for (index, body) in bodies.enumerated() {
            let start = clock.now
            for _ in 0..<batch { try body() }
            let (seconds, attoseconds) = (clock.now - start).components
            times[index].append((Double(seconds) * 1e6 + Double(attoseconds) / 1e12) / Double(batch))
        }
    }
    return times.map { $0.sorted()[rounds / 2] }
}

func format(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return "\(rounded)"
}

var sink = 0
for (width, height) in [(640, 480), (1280, 720)] {
    let yuyv = cameraYUYV(width: width, height: height)
    let upright = try JPEGEncoder(width: width, height: height, quality: 80)
    let jpeg = try yuyv.withUnsafeBytes { try upright.encodeYUYV($0, bytesPerLine: width * 2) }
    print("\(width)x\(height), 4:2:2 JPEG of \(jpeg.count) bytes, quality 80")

    // Decoding into planes, for the decode + turn + encode path.
    let decompressor = tjInitDecompress()!
    defer { tjDestroy(decompressor) }
    let chromaWidth = (width + 1) / 2
    var y = [UInt8](repeating: 0, count: width * height)
    var u = [UInt8](repeating: 0, count: chromaWidth * height)
    var v = u
    func decode() {
        let result = y.withUnsafeMutableBufferPointer { yp in
            u.withUnsafeMutableBufferPointer { up in
                v.withUnsafeMutableBufferPointer { vp in
                    var planes: [UnsafeMutablePointer<UInt8>?] = [yp.baseAddress, up.baseAddress, vp.baseAddress]
                    return tjDecompressToYUVPlanes(
                        decompressor,
                        jpeg,
                        UInt(jpeg.count),
                        &planes,
                        Int32(width),
                        nil,
                        Int32(height),
                        0
                    )
                }
            }
        }
        precondition(result == 0)
    }

    for (name, orientation) in [
        ("rotate 90", FrameOrientation(rotation: .clockwise90)),
        ("rotate 180", FrameOrientation(rotation: .clockwise180)),
        ("flip horizontal", FrameOrientation(flip: .horizontal)),
    ] {
        let transformer = try JPEGTransformer(orientation: orientation)
        let turningEncoder = try JPEGEncoder(width: width, height: height, quality: 80, orientation: orientation)
        let times = try microseconds([
            { sink &+= try transformer.transform(jpeg).count },
            {
                decode()
                sink &+= try turningEncoder.encodeYUV422 { yd, ud, vd in
                    _ = yd.update(fromContentsOf: y)
                    _ = ud.update(fromContentsOf: u)
                    _ = vd.update(fromContentsOf: v)
                }.count
            },
            { sink &+= try yuyv.withUnsafeBytes { try upright.encodeYUYV($0, bytesPerLine: width * 2) }.count },
            { sink &+= try yuyv.withUnsafeBytes { try turningEncoder.encodeYUYV($0, bytesPerLine: width * 2) }.count },
        ])
        let (lossless, reencode, rawUpright, rawTurned) = (times[0], times[1], times[2], times[3])
        print(
            "  \(name): lossless \(format(lossless)) µs, decode+turn+encode \(format(reencode)) µs, "
                + "ratio \(format(reencode / lossless))x; raw YUYV encode upright \(format(rawUpright)) µs, "
                + "turned \(format(rawTurned)) µs (+\(format((rawTurned / rawUpright - 1) * 100)) %)"
        )
    }
}
if sink == 42 { print("") }
