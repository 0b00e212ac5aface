/// Measures a frame rate from the times of the most recent frames, in a fixed ring that never grows.
struct FrameRateMeter {
    /// How far back frames count.
    static let window: Duration = .seconds(3)
    private var times = [Duration](repeating: .zero, count: 64)
    private var count = 0
    private var next = 0

    mutating func record(_ time: Duration) {
        times[next] = time
        next = (next + 1) % times.count
        count = min(count + 1, times.count)
    }

    mutating func reset() {
        count = 0
    }

    /// Frames per second over the frames within ``window`` of `now`; 0 with fewer than two such frames.
    func framesPerSecond(now: Duration) -> Double {
        var newest: Duration?
        var oldest: Duration?
        var frames = 0
        for age in 0..<count {
            let time = times[(next - 1 - age + times.count) % times.count]
            guard now - time <= Self.window else { break }
            newest = newest ?? time
            oldest = time
            frames += 1
        }
        guard frames >= 2, let newest, let oldest, newest > oldest else { return 0 }
        let span = newest - oldest
        let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) * 1e-18
        return Double(frames - 1) / seconds
    }
}
