import Synchronization

/// The last seconds of a camera in memory, so that viewers can pause and rewind the live view without a recording.
///
/// It observes the broadcaster (``FrameBroadcaster/observeFrames(_:)``) and keeps every frame published in the last
/// ``Configuration/duration``, up to ``Configuration/maxBytes``; older frames are dropped as new ones come. Frames
/// share their bytes with the live stream, so the ring costs its JPEG bytes once, however many viewers rewind: a
/// paused viewer is a position, not a copy. It does not keep the camera running; while the camera is stopped it
/// keeps what it had.
///
/// ```swift
/// let timeshift = TimeshiftBuffer(broadcaster: camera)  // the last 30 s
/// let tenSecondsAgo = timeshift.frame(atOrBefore: Date().microsSince1970 - 10_000_000)
/// ```
public final class TimeshiftBuffer: FrameHistory {
    /// How much the ring keeps.
    public struct Configuration: Sendable, Hashable {
        /// The most time it keeps, from the newest frame back.
        public var duration: Duration
        /// The most JPEG bytes it keeps; `nil` for no limit but the duration.
        public var maxBytes: Int?

        /// Creates a configuration: 30 s by default.
        public init(duration: Duration = .seconds(30), maxBytes: Int? = nil) {
            self.duration = duration
            self.maxBytes = maxBytes
        }
    }

    private struct Ring {
        /// Frames oldest first, from `head` on; the slots before `head` are dropped frames not yet compacted away.
        var frames: [Frame] = []
        var micros: [Int64] = []
        var head = 0
        var bytes = 0

        var count: Int { frames.count - head }

        mutating func dropFirst() {
            bytes -= frames[head].jpeg.count
            head += 1
            if head > 64, head * 2 > frames.count {
                frames.removeFirst(head)
                micros.removeFirst(head)
                head = 0
            }
        }

        /// The position of the first frame after `time`, among all slots (`head ..< frames.count`).
        func firstIndex(after time: Int64) -> Int {
            var low = head
            var high = micros.count
            while low < high {
                let middle = (low + high) / 2
                if micros[middle] <= time { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// The slot of the newest frame captured at `time` or before it.
        func index(atOrBefore time: Int64) -> Int? {
            let index = firstIndex(after: time) - 1
            return index >= head ? index : nil
        }

        /// The slot of the oldest frame captured after `time`.
        func index(after time: Int64) -> Int? {
            let index = firstIndex(after: time)
            return index < micros.count ? index : nil
        }
    }

    /// What it keeps.
    public let configuration: Configuration
    private let ring = Mutex(Ring())
    private let observation = Mutex<FrameObservation?>(nil)

    /// Creates a ring that keeps the broadcaster's last frames from now on.
    public init(broadcaster: FrameBroadcaster, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let observation = broadcaster.observeFrames { [weak self] frame in self?.append(frame) }
        self.observation.withLock { $0 = observation }
    }

    /// Adds a frame as the newest one and drops what falls out of the limits.
    func append(_ frame: Frame) {
        let limit = configuration.duration.microseconds
        ring.withLock { ring in
            // Capture times only increase in the ring: a clock that steps back starts it again.
            var time = frame.captureMicros
            if let last = ring.micros.last, ring.count > 0, time <= last {
                if last - time > 1_000_000 {
                    while ring.count > 0 { ring.dropFirst() }
                } else {
                    time = last + 1
                }
            }
            ring.frames.append(frame)
            ring.micros.append(time)
            ring.bytes += frame.jpeg.count
            while ring.count > 1,
                time - ring.micros[ring.head] > limit || (configuration.maxBytes.map { ring.bytes > $0 } ?? false)
            {
                ring.dropFirst()
            }
        }
    }

    /// How many frames and JPEG bytes it holds now.
    public var usage: (frames: Int, bytes: Int) {
        ring.withLock { ($0.count, $0.bytes) }
    }

    public func frame(atOrBefore micros: Int64) -> RecordedFrame? {
        ring.withLock { ring in ring.index(atOrBefore: micros).map { Self.recorded(ring, $0) } }
    }

    public func frame(after micros: Int64) -> RecordedFrame? {
        ring.withLock { ring in ring.index(after: micros).map { Self.recorded(ring, $0) } }
    }

    public func frame(before micros: Int64) -> RecordedFrame? {
        frame(atOrBefore: micros - 1)
    }

    public func captureTime(atOrBefore micros: Int64) -> Int64? {
        ring.withLock { ring in ring.index(atOrBefore: micros).map { ring.micros[$0] } }
    }

    public func captureTime(after micros: Int64) -> Int64? {
        ring.withLock { ring in ring.index(after: micros).map { ring.micros[$0] } }
    }

    public func captureTime(before micros: Int64) -> Int64? {
        captureTime(atOrBefore: micros - 1)
    }

    public var timeRange: ClosedRange<Int64>? {
        ring.withLock { ring in
            guard ring.count > 0 else { return nil }
            return ring.micros[ring.head]...ring.micros[ring.micros.count - 1]
        }
    }

    public func spans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan] {
        ring.withLock { ring in
            guard ring.count > 0, ring.micros[ring.head] <= range.upperBound,
                ring.micros[ring.micros.count - 1] >= range.lowerBound
            else { return [] }
            return [
                RecordedSpan(
                    startMicros: ring.micros[ring.head],
                    endMicros: ring.micros[ring.micros.count - 1],
                    frames: ring.count,
                    bytes: Int64(ring.bytes)
                )
            ]
        }
    }

    private static func recorded(_ ring: Ring, _ index: Int) -> RecordedFrame {
        RecordedFrame(jpeg: ring.frames[index].jpeg, captureMicros: ring.micros[index])
    }
}
