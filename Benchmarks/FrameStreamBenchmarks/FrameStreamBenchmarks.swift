import Benchmark
import CTurboJPEG
import FrameStream
import FrameStreamHTTP

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 5,
        maxDuration: .seconds(5),
        maxIterations: 1_000
    )

    for subscribers in [1, 10, 100, 1_000] {
        Benchmark("Publish one 45 KB frame to \(subscribers) subscribers") { benchmark in
            let fanOut = await FanOut(subscribers: subscribers)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                await fanOut.publishAndWait()
            }
            benchmark.stopMeasurement()
            await fanOut.stop()
        }
    }

    Benchmark(
        "Build the multipart part of a 45 KB frame",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
    ) { benchmark in
        let encoder = MJPEGPartEncoder()
        let frames = await MultipartInput.frames(count: 64)
        benchmark.startMeasurement()
        for iteration in benchmark.scaledIterations {
            blackHole(encoder.part(for: frames[iteration % frames.count]))
        }
    }

    Benchmark(
        "Fetch a cached part (each of 1,000 viewers asking for the same frame)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
    ) { benchmark in
        let cache = MJPEGPartCache()
        let frames = await MultipartInput.frames(count: 1)
        blackHole(cache.part(for: frames[0]))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for _ in 0..<1_000 { blackHole(cache.part(for: frames[0])) }
        }
    }

    for (width, height) in [(640, 480), (1280, 720)] {
        let image = EncodeInput(width: width, height: height)
        Benchmark(
            "Encode \(width)x\(height) YUYV to JPEG (FrameStream JPEGEncoder, quality 80)",
            configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
        ) { benchmark in
            let encoder = try JPEGEncoder(width: width, height: height, quality: 80)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try image.yuyv.withUnsafeBytes { try encoder.encodeYUYV($0, bytesPerLine: width * 2) })
            }
        }
        Benchmark(
            "Encode \(width)x\(height) planar YUV 4:2:2 to JPEG (libturbojpeg alone, quality 80)",
            configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
        ) { benchmark in
            let handle = tjInitCompress()
            defer { tjDestroy(handle) }
            let capacity = Int(tjBufSize(Int32(width), Int32(height), Int32(TJSAMP_422.rawValue)))
            var output: UnsafeMutablePointer<UInt8>? = .allocate(capacity: capacity)
            defer { output?.deallocate() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var size = UInt(capacity)
                image.luma.withUnsafeBufferPointer { y in
                    image.blue.withUnsafeBufferPointer { u in
                        image.red.withUnsafeBufferPointer { v in
                            var planes: [UnsafePointer<UInt8>?] = [y.baseAddress, u.baseAddress, v.baseAddress]
                            var strides: [Int32] = [Int32(width), Int32(width / 2), Int32(width / 2)]
                            let result = tjCompressFromYUVPlanes(
                                handle,
                                &planes,
                                Int32(width),
                                &strides,
                                Int32(height),
                                Int32(TJSAMP_422.rawValue),
                                &output,
                                &size,
                                80,
                                TJFLAG_NOREALLOC | TJFLAG_FASTDCT
                            )
                            precondition(result == 0)
                        }
                    }
                }
                blackHole(size)
            }
        }
    }
}

/// A camera-like image (gradients and texture, not flat colour) as packed YUYV and as the planes it splits into.
struct EncodeInput: Sendable {
    let yuyv: [UInt8]
    let luma: [UInt8]
    let blue: [UInt8]
    let red: [UInt8]

    init(width: Int, height: Int) {
        var yuyv = [UInt8](repeating: 0, count: width * height * 2)
        var luma = [UInt8](repeating: 0, count: width * height)
        var blue = [UInt8](repeating: 0, count: width / 2 * height)
        var red = [UInt8](repeating: 0, count: width / 2 * height)
        var noise: UInt32 = 12345
        for row in 0..<height {
            for column in 0..<width {
                noise = noise &* 1_103_515_245 &+ 12345
                let y = UInt8(truncatingIfNeeded: (column + row) / 3 + Int(noise >> 28))
                yuyv[(row * width + column) * 2] = y
                luma[row * width + column] = y
            }
            for pair in 0..<(width / 2) {
                let u = UInt8(truncatingIfNeeded: 64 + pair * 128 / (width / 2))
                let v = UInt8(truncatingIfNeeded: 64 + row * 128 / height)
                yuyv[(row * width + pair * 2) * 2 + 1] = u
                yuyv[(row * width + pair * 2) * 2 + 3] = v
                blue[row * (width / 2) + pair] = u
                red[row * (width / 2) + pair] = v
            }
        }
        self.yuyv = yuyv
        self.luma = luma
        self.blue = blue
        self.red = red
    }
}

/// Frames to build parts from, published by a real broadcaster so that they carry sequence numbers.
enum MultipartInput {
    static func frames(count: Int) async -> [Frame] {
        let fanOut = await FanOut(subscribers: 1)
        var frames: [Frame] = []
        for _ in 0..<count { frames.append(await fanOut.publishAndTake()) }
        await fanOut.stop()
        return frames
    }
}
