import FrameStream
import FrameStreamTesting
import Synchronization
import Testing

/// A history held in an array: frames every `spacing` from `start`, with optional gaps; it counts the frames read,
/// and the frames at `unreadable` indexes are in its index but cannot be read (as a frame whose checksum fails).
struct ArrayHistory: FrameHistory {
    let times: [Int64]
    let unreadable: Set<Int>
    let reads = ReadCount()

    init(
        start: Int64 = 1_000_000_000,
        count: Int,
        spacing: Int64 = 100_000,
        gapAfter: Int? = nil,
        gap: Int64 = 0,
        unreadable: Set<Int> = []
    ) {
        times = (0..<count).map { index in
            start + Int64(index) * spacing + (gapAfter.map { index > $0 ? gap : 0 } ?? 0)
        }
        self.unreadable = unreadable
    }

    func recorded(_ index: Int) -> RecordedFrame {
        reads.count.add(1, ordering: .relaxed)
        return RecordedFrame(jpeg: [0xFF, 0xD8, UInt8(index & 0xFF), 0xFF, 0xD9], captureMicros: times[index])
    }

    func frame(atOrBefore micros: Int64) -> RecordedFrame? {
        (times.indices.last { times[$0] <= micros && !unreadable.contains($0) }).map(recorded)
    }

    func frame(after micros: Int64) -> RecordedFrame? {
        (times.indices.first { times[$0] > micros && !unreadable.contains($0) }).map(recorded)
    }

    func frame(before micros: Int64) -> RecordedFrame? {
        (times.indices.last { times[$0] < micros && !unreadable.contains($0) }).map(recorded)
    }

    func captureTime(atOrBefore micros: Int64) -> Int64? { times.last { $0 <= micros } }

    func captureTime(after micros: Int64) -> Int64? { times.first { $0 > micros } }

    func captureTime(before micros: Int64) -> Int64? { times.last { $0 < micros } }

    var timeRange: ClosedRange<Int64>? { times.isEmpty ? nil : times[0]...times[times.count - 1] }

    func spans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan] {
        [RecordedSpan(startMicros: times[0], endMicros: times[times.count - 1], frames: times.count, bytes: 0)]
    }
}

/// How many frames a history read.
final class ReadCount: Sendable {
    let count = Atomic(0)

    var value: Int { count.load(ordering: .relaxed) }
}

/// What a playback sent: each frame's capture time and the clock's time when it came out.
struct Sent: Equatable, CustomStringConvertible {
    var micros: Int64
    var at: Duration

    var description: String { "\(micros)@\(at)" }
}

/// Reads a playback's frames while advancing a manual clock from one sleeper's deadline to the next, until `count`
/// frames came out, the playback ended, or `limit` of clock time passed; `after` runs after each frame, to send
/// commands. The reader sleeps on the clock whenever it waits, also after the end, so that the loop always knows
/// when it is idle.
func collect(
    _ playback: Playback,
    clock: ManualClock,
    count: Int,
    limit: Duration = .seconds(120),
    after: @escaping @Sendable (Int) -> Void = { _ in }
) async -> (sent: [Sent], ended: Bool) {
    let sent = Mutex<[Sent]>([])
    let ended = Atomic(false)
    let consumer = Task {
        while let frame = await playback.nextFrame() {
            let total = sent.withLock { sent in
                sent.append(Sent(micros: frame.captureMicros, at: clock.now.offset))
                return sent.count
            }
            after(total)
        }
        ended.store(true, ordering: .sequentiallyConsistent)
        try? await clock.sleep(until: .init(offset: .seconds(1_000_000)))
    }
    while sent.withLock({ $0.count }) < count, clock.now.offset < limit {
        await clock.waitForSleepers(1)
        if sent.withLock({ $0.count }) >= count || ended.load(ordering: .sequentiallyConsistent) { break }
        guard let next = clock.sleeperDeadlines.first else { continue }
        clock.advance(by: next.offset - clock.now.offset)
    }
    consumer.cancel()
    await consumer.value
    return (Array(sent.withLock { $0 }.prefix(count)), ended.load(ordering: .sequentiallyConsistent))
}

struct PlaybackTests {
    let history = ArrayHistory(count: 100)
    var start: Int64 { history.times[0] }

    @Test func playsFromTheStartTimeAtTheRecordedPace() async throws {
        let clock = ManualClock()
        let playback = try Playback(history: history, broadcaster: nil, start: .micros(start + 250_000), clock: clock)
        let (sent, _) = await collect(playback, clock: clock, count: 5)
        // The first frame at or after the start at once, then one every 100 ms of recorded time.
        #expect(sent.map(\.micros) == [3, 4, 5, 6, 7].map { history.times[$0] })
        #expect(sent.map(\.at) == [0, 100, 200, 300, 400].map { Duration.milliseconds($0) })
    }

    @Test func fastRatesSkipFramesInsteadOfSendingMore() async throws {
        let clock = ManualClock()
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(start),
            rate: 16,
            configuration: .init(maxFramesPerSecond: 10),
            clock: clock
        )
        let (sent, _) = await collect(playback, clock: clock, count: 6)
        // At 16x a frame of 100 ms is due every 6.25 ms, but at most 10 go out a second: every 100 ms, 16 frames on.
        #expect(sent.map(\.at) == (0..<6).map { Duration.milliseconds($0 * 100) })
        #expect(sent.map(\.micros) == [0, 16, 32, 48, 64, 80].map { history.times[$0] })
    }

    @Test func onlyTheFramesSentAreRead() async throws {
        let clock = ManualClock()
        let history = ArrayHistory(count: 100)
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(history.times[0]),
            rate: 16,
            configuration: .init(maxFramesPerSecond: 10),
            clock: clock
        )
        let (sent, _) = await collect(playback, clock: clock, count: 6)
        #expect(sent.count == 6)
        // Waiting for a frame's time and skipping the frames in between look at times only.
        #expect(history.reads.value == 6)
    }

    @Test func anUnreadableFrameIsPassedOverInTheDirectionOfPlay() async throws {
        let history = ArrayHistory(count: 10, unreadable: [2, 6])
        let clock = ManualClock()
        let forward = try Playback(history: history, broadcaster: nil, start: .micros(history.times[0]), clock: clock)
        #expect(
            await collect(forward, clock: clock, count: 4).sent.map(\.micros) == [0, 1, 3, 4].map { history.times[$0] }
        )
        let backClock = ManualClock()
        let backward = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(history.times[8]),
            rate: -1,
            clock: backClock
        )
        let sent = await collect(backward, clock: backClock, count: 4).sent
        #expect(sent.map(\.micros) == [8, 7, 5, 4].map { history.times[$0] })
        // The last frame before the end cannot be read: the playback ends without the one after the end.
        let endClock = ManualClock()
        let ending = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(history.times[4]),
            end: history.times[6],
            clock: endClock
        )
        let result = await collect(ending, clock: endClock, count: 100)
        #expect(result.ended)
        #expect(result.sent.map(\.micros) == [4, 5].map { history.times[$0] })
    }

    @Test func reverseWalksBackAndStopsAtTheOldestFrame() async throws {
        let clock = ManualClock()
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(history.times[3]),
            rate: -1,
            configuration: .init(heartbeat: .seconds(1)),
            clock: clock
        )
        let (sent, _) = await collect(playback, clock: clock, count: 5)
        #expect(sent.map(\.micros) == [3, 2, 1, 0, 0].map { history.times[$0] })
        #expect(Array(sent.map(\.at).prefix(4)) == [0, 100, 200, 300].map { Duration.milliseconds($0) })
        #expect(playback.playbackState.isPaused)
    }

    @Test func slowMotionAtOneEighth() async throws {
        let clock = ManualClock()
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(start),
            rate: 0.125,
            clock: clock
        )
        let (sent, _) = await collect(playback, clock: clock, count: 3)
        #expect(sent.map(\.micros) == [0, 1, 2].map { history.times[$0] })
        #expect(sent.map(\.at) == [0, 800, 1600].map { Duration.milliseconds($0) })
    }

    @Test func pauseRepeatsTheFrameAtTheHeartbeatAndPlayGoesOn() async throws {
        let clock = ManualClock()
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(start),
            configuration: .init(heartbeat: .seconds(2)),
            clock: clock
        )
        let (sent, _) = await collect(playback, clock: clock, count: 7) { count in
            if count == 2 { playback.pause() }
            if count == 5 { playback.play() }
        }
        // Frame 1 at 100 ms, then paused: sent once more at once (so that a browser shows it), then at every
        // heartbeat; play goes on from frame 1 at the recorded pace.
        #expect(sent.map(\.micros) == [0, 1, 1, 1, 1, 2, 3].map { history.times[$0] })
        #expect(
            sent.map(\.at) == [0, 100, 100, 2100, 4100, 4200, 4300].map { Duration.milliseconds($0) }
        )
    }

    @Test func aSeekOrAStepWhilePausedSendsTheFrameTwice() async throws {
        let clock = ManualClock()
        let playback = try Playback(history: history, broadcaster: nil, start: .micros(start), clock: clock)
        playback.pause()
        let (sent, _) = await collect(playback, clock: clock, count: 7) { count in
            if count == 2 { playback.seek(to: history.times[50] + 1) }
            if count == 4 { playback.step(frames: -3) }
        }
        #expect(sent.map(\.micros) == [0, 0, 51, 51, 48, 48, 48].map { history.times[$0] })
        #expect(playback.playbackState.positionMicros == history.times[48])
        #expect(playback.playbackState.isPaused)
    }

    @Test func endEndsTheStreamAfterTheLastFrameBeforeIt() async throws {
        let clock = ManualClock()
        let playback = try Playback(
            history: history,
            broadcaster: nil,
            start: .micros(start),
            end: history.times[3] + 50_000,
            clock: clock
        )
        let (sent, ended) = await collect(playback, clock: clock, count: 100)
        let frames = sent.map(\.micros)
        #expect(ended)
        #expect(frames == [0, 1, 2, 3].map { history.times[$0] })
        #expect(playback.playbackState.hasEnded)
    }

    @Test func longGapsAreSkipped() async throws {
        let clock = ManualClock()
        let gapped = ArrayHistory(count: 10, gapAfter: 4, gap: 3_600_000_000)
        let playback = try Playback(history: gapped, broadcaster: nil, start: .micros(gapped.times[3]), clock: clock)
        let (sent, _) = await collect(playback, clock: clock, count: 4)
        #expect(sent.map(\.micros) == [3, 4, 5, 6].map { gapped.times[$0] })
        // The hour is not waited out: the frame after the gap comes as soon as the frame rate allows.
        #expect(sent[2].at - sent[1].at < .milliseconds(100))
        #expect(sent[3].at - sent[2].at == .milliseconds(100))
    }

    @Test func ratesOutsideTheRangeAreRefused() {
        #expect(throws: PlaybackError.unsupportedRate(100)) {
            try Playback(history: history, broadcaster: nil, start: .micros(start), rate: 100)
        }
        #expect(throws: PlaybackError.unsupportedRate(0.1)) {
            try Playback(history: history, broadcaster: nil, start: .micros(start), rate: 0.1)
        }
    }

    @Test func aPlaybackThatCatchesUpWithLiveBecomesLive() async throws {
        let clock = ManualClock()
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: clock) { broadcaster in
            let timeshift = TimeshiftBuffer(broadcaster: broadcaster)
            let keepOn = broadcaster.subscribe()
            await camera.waitForStarts(1)
            let base: Int64 = 1_700_000_000_000_000
            func publish(_ index: Int) async {
                let before = timeshift.usage.frames
                camera.send(
                    JPEGImage(
                        bytes: [0xFF, 0xD8, UInt8(index), 0xFF, 0xD9],
                        captureTime: .init(microsSince1970: base + Int64(index) * 100_000)
                    )
                )
                await eventually { timeshift.usage.frames > before }
            }
            for index in 0..<10 { await publish(index) }
            let playback = try Playback(
                history: timeshift,
                broadcaster: broadcaster,
                start: .micros(base + 500_000),
                rate: 4,
                clock: clock
            )
            let (sent, _) = await collect(playback, clock: clock, count: 5)
            // Frames 5 to 9 at 4x (at 30 frames a second at most), then live once nothing newer is there.
            #expect(sent.map(\.micros) == [5, 6, 7, 8, 9].map { base + Int64($0) * 100_000 })
            #expect(sent.last?.at ?? .zero < .milliseconds(150))
            let next = Task { await playback.nextFrame() }
            // The frame-rate cap's wait, then live.
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(100))
            await eventually { playback.playbackState.isLive }
            await publish(10)
            #expect(await next.value?.captureMicros == base + 1_000_000)
            #expect(playback.playbackState.isLive)
            #expect(playback.playbackState.behindLiveMicros == 0)
            // Going back 0.5 s leaves live and shows the older frame.
            playback.skip(by: .milliseconds(-500))
            #expect(await playback.nextFrame()?.captureMicros == base + 500_000)
            #expect(!playback.playbackState.isLive)
            #expect(playback.playbackState.behindLiveMicros == 500_000)
            // Live again: the newest frame at once, then each new one.
            playback.goLive()
            #expect(await playback.nextFrame()?.captureMicros == base + 1_000_000)
            let live = Task { await playback.nextFrame() }
            await clock.waitForSleepers(1)
            await publish(11)
            #expect(await live.value?.captureMicros == base + 1_100_000)
            withExtendedLifetime(keepOn) {}
        }
    }

    @Test func theTimeshiftRingKeepsTheLastSecondsAndAnswersByTime() async throws {
        let clock = ManualClock()
        let camera = ManualCamera()
        try await withRunningBroadcaster(of: camera, clock: clock) { broadcaster in
            let timeshift = TimeshiftBuffer(broadcaster: broadcaster, configuration: .init(duration: .seconds(1)))
            let keepOn = broadcaster.subscribe()
            await camera.waitForStarts(1)
            let base: Int64 = 1_700_000_000_000_000
            for index in 0..<25 {
                let before = broadcaster.status.framesProduced
                camera.send(
                    JPEGImage(
                        bytes: [0xFF, 0xD8, UInt8(index), 0xFF, 0xD9],
                        captureTime: .init(microsSince1970: base + Int64(index) * 100_000)
                    )
                )
                await eventually { broadcaster.status.framesProduced > before }
            }
            await eventually { timeshift.timeRange?.upperBound == base + 2_400_000 }
            // 25 frames 100 ms apart: the last second is frames 14 to 24.
            #expect(timeshift.timeRange == (base + 1_400_000)...(base + 2_400_000))
            #expect(timeshift.usage.frames == 11)
            #expect(timeshift.frame(atOrBefore: base + 1_950_000)?.captureMicros == base + 1_900_000)
            #expect(timeshift.frame(after: base + 1_900_000)?.jpeg[2] == 20)
            #expect(timeshift.frame(before: base + 1_400_000) == nil)
            #expect(timeshift.frame(after: base + 2_400_000) == nil)
            withExtendedLifetime(keepOn) {}
        }
    }

    @Test func aJoinedHistoryReadsEachFrameFromOneSourceAndFallsBackWhenItCannot() {
        let memory = ArrayHistory(count: 10, unreadable: [4])
        let files = ArrayHistory(count: 20)
        let joined = CameraHistory([memory, files])
        // The same frame in both: read from the first source only.
        #expect(joined.frame(after: memory.times[1])?.captureMicros == memory.times[2])
        #expect(memory.reads.value == 1 && files.reads.value == 0)
        // Only the second source has it.
        #expect(joined.frame(atOrBefore: files.times[15])?.captureMicros == files.times[15])
        #expect(files.reads.value == 1)
        // The first source cannot read its frame: the nearest readable one of all sources.
        #expect(joined.frame(after: memory.times[3])?.captureMicros == files.times[4])
        // Each source read once for it: the first one's farther frame is kept, not read again.
        #expect(memory.reads.value == 2 && files.reads.value == 2)
        #expect(joined.captureTime(before: files.times[0]) == nil)
        #expect(joined.captureTime(after: memory.times[9]) == files.times[10])
    }
}
