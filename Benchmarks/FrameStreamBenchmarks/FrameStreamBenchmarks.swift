import Benchmark

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
}
