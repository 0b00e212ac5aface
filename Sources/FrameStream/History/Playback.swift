import Synchronization

/// One viewer's DVR: plays a camera's history at any rate, forwards or backwards, pauses, seeks, steps, and goes
/// back to live — the frames of a stream that a player controls while it plays.
///
/// A playback is read by one consumer (a stream writer) with ``nextFrame()``, and controlled from anywhere with its
/// commands (``pause()``, ``seek(to:)``, …), which take effect at once: the consumer is woken, so a pause or a seek
/// shows without waiting for the next frame.
///
/// - Frames are paced by their recorded capture times divided by the rate. At fast rates the playback skips frames
///   by the index instead of sending more than ``Configuration/maxFramesPerSecond``; backwards it walks the index
///   back (every JPEG stands alone).
/// - Gaps in the history longer than ``Configuration/gapSkip`` are skipped.
/// - Playing forwards at rate 1 or more, a playback that reaches the newest frame becomes live; live, it sends the
///   camera's newest frame as it comes, skipping frames when the viewer is slower.
/// - Paused, it sends its frame again every ``Configuration/heartbeat`` so that proxies keep the connection; after
///   a pause, a seek or a step the frame is sent twice, because a browser shows a multipart frame only when the next
///   part begins.
///
/// ```swift
/// let playback = Playback(history: history, broadcaster: camera, start: .micros(oneMinuteAgo))
/// while let frame = await playback.nextFrame() { try await send(frame) }
/// ```
public final class Playback: Sendable {
    /// Pacing and limits.
    public struct Configuration: Sendable, Hashable {
        /// How often a paused (or stalled) playback sends its frame again.
        public var heartbeat: Duration
        /// The most frames per second it sends, whatever the rate.
        public var maxFramesPerSecond: Double
        /// A gap in the history longer than this (in recorded time) is skipped instead of waited out.
        public var gapSkip: Duration

        /// Creates a configuration.
        public init(heartbeat: Duration = .seconds(1), maxFramesPerSecond: Double = 30, gapSkip: Duration = .seconds(2))
        {
            self.heartbeat = heartbeat
            self.maxFramesPerSecond = maxFramesPerSecond
            self.gapSkip = gapSkip
        }
    }

    /// Where a playback begins.
    public enum Start: Sendable, Hashable {
        /// At the camera's newest frame, live.
        case live
        /// At the frame captured at this time (microseconds since 1970), or the nearest one after it.
        case micros(Int64)
    }

    /// The rates a playback accepts, in magnitude.
    public static let rates: ClosedRange<Double> = 0.125...64

    private enum Mode: Sendable {
        case live
        case playing
        case paused
    }

    private struct State: Sendable {
        var mode: Mode
        var rate: Double
        /// The capture time of the frame sent last, or of the frame to send next after a seek.
        var position: Int64
        /// The playback's schedule: at `anchorTime` on the clock, recorded time was `anchorPosition`.
        var anchorTime: Duration
        var anchorPosition: Int64
        /// When a frame was last sent, on the clock.
        var lastSent: Duration?
        /// The frame sent last, to send again at a heartbeat.
        var lastFrame: RecordedFrame?
        /// How many times to send the frame at ``position`` at once (after a seek, a step, a pause).
        var pendingShows = 0
        /// The camera's newest frame, and the capture time of the newest frame sent live.
        var latestLive: RecordedFrame?
        var liveSent: Int64?
        var hasEnded = false
        /// Bumped by every command and by live frames the consumer waits for; wakes the consumer.
        var generation: UInt64 = 0
        var wantsLiveFrames = false
        var waiter: CheckedContinuation<Void, Never>?
        var listeners: [UInt64: AsyncStream<PlaybackState>.Continuation] = [:]
        var nextListener: UInt64 = 0

        /// Live from the next frame on; without a camera to go live with, paused at the newest frame.
        mutating func goLive(canGoLive: Bool) {
            guard canGoLive else {
                mode = .paused
                return
            }
            mode = .live
            rate = 1
            liveSent = nil
            hasEnded = false
        }

        mutating func bump() -> CheckedContinuation<Void, Never>? {
            generation &+= 1
            defer { waiter = nil }
            return waiter
        }
    }

    private enum Step {
        case send(RecordedFrame)
        case wait(until: Duration?, generation: UInt64)
        case end
    }

    /// Pacing and limits.
    public let configuration: Configuration
    /// The history it plays.
    public let history: any FrameHistory
    /// The end time, if it has one (microseconds since 1970): the stream ends after the last frame before it.
    public let end: Int64?
    private let broadcaster: FrameBroadcaster?
    private let clock: FrameClock
    private let state: Mutex<State>
    /// Keeps the camera on while the playback lives, so that it can go live and the timeshift ring stays fresh.
    private let keepAlive: FrameSubscription?
    private let observation = Mutex<FrameObservation?>(nil)

    /// Creates a playback.
    /// - Parameters:
    ///   - history: what it plays.
    ///   - broadcaster: the camera, for going live; `nil` for a playback of the history alone, which pauses at the
    ///     newest frame instead.
    ///   - start: where it begins.
    ///   - rate: 1/8 to 64, negative for reverse.
    ///   - end: where its stream ends, if anywhere.
    ///   - configuration: pacing and limits.
    ///   - clock: paces it; tests pass a manual clock.
    /// - Throws: ``PlaybackError/unsupportedRate(_:)``.
    public init(
        history: any FrameHistory,
        broadcaster: FrameBroadcaster?,
        start: Start,
        rate: Double = 1,
        end: Int64? = nil,
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock()
    ) throws(PlaybackError) {
        try Self.check(rate)
        self.history = history
        self.broadcaster = broadcaster
        self.end = end
        self.configuration = configuration
        self.clock = FrameClock(clock)
        let now = self.clock.now()
        var initial: State
        switch start {
        case .live where broadcaster != nil:
            let newest = history.timeRange?.upperBound ?? 0
            initial = State(mode: .live, rate: 1, position: newest, anchorTime: now, anchorPosition: newest)
        case .live:
            let newest = history.timeRange?.upperBound ?? 0
            initial = State(mode: .paused, rate: 1, position: newest, anchorTime: now, anchorPosition: newest)
            initial.pendingShows = 2
        case .micros(let micros):
            // Backwards, the frame at or before the start comes first; forwards, the one at or after it.
            let first =
                rate < 0
                ? history.captureTime(atOrBefore: micros) ?? history.captureTime(atOrAfter: micros)
                : history.captureTime(atOrAfter: micros) ?? history.captureTime(atOrBefore: micros)
            let position = first ?? micros
            initial = State(mode: .playing, rate: rate, position: position, anchorTime: now, anchorPosition: position)
            initial.pendingShows = 1
        }
        self.state = Mutex(initial)
        self.keepAlive = broadcaster?.subscribe()
        if let broadcaster {
            let observation = broadcaster.observeFrames { [weak self] frame in self?.receiveLive(frame) }
            self.observation.withLock { $0 = observation }
        }
    }

    deinit {
        state.withLock { state in
            for listener in state.listeners.values { listener.finish() }
        }
    }

    private static func check(_ rate: Double) throws(PlaybackError) {
        guard rates.contains(rate.magnitude) else { throw .unsupportedRate(rate) }
    }

    // MARK: Commands

    /// Stops the picture at the frame shown now.
    public func pause() {
        command { state, _ in
            if state.mode == .live, let sent = state.liveSent { state.position = sent }
            guard state.mode != .paused else { return }
            state.mode = .paused
            state.pendingShows = 1
        }
    }

    /// Plays on from the frame shown now, at the rate set.
    public func play() {
        command { state, now in
            guard state.mode == .paused else { return }
            state.mode = .playing
            state.anchorTime = now
            state.anchorPosition = state.position
        }
    }

    /// Shows the frame captured at `micros` (or the nearest one after it, or the newest before it) and plays on from
    /// there, or stays paused if paused; a time past the newest frame goes live.
    public func seek(to micros: Int64) {
        let target = history.captureTime(atOrAfter: micros) ?? history.captureTime(atOrBefore: micros)
        command { [broadcaster] state, now in
            guard let target, !(target < micros && broadcaster != nil && state.rate > 0) else {
                // Nothing at or after the time: the present.
                state.goLive(canGoLive: broadcaster != nil)
                return
            }
            if state.mode == .live { state.mode = .playing }
            state.position = target
            state.anchorTime = now
            state.anchorPosition = target
            state.pendingShows = state.mode == .paused ? 2 : 1
            state.hasEnded = false
        }
    }

    /// Moves the position by `offset` (negative to go back) and plays on from there, or stays paused if paused.
    public func skip(by offset: Duration) {
        let base = state.withLock { $0.mode == .live ? ($0.liveSent ?? $0.position) : $0.position }
        seek(to: base + offset.microseconds)
    }

    /// Sets the rate: 1/8 to 64, negative for reverse. Live, a rate below 1 or a negative one leaves live at the
    /// frame shown now; a rate above 1 stays live (nothing newer exists).
    /// - Throws: ``PlaybackError/unsupportedRate(_:)``.
    public func setRate(_ rate: Double) throws(PlaybackError) {
        try Self.check(rate)
        command { state, now in
            if state.mode == .live {
                guard rate < 1 else { return }
                state.mode = .playing
                state.position = state.liveSent ?? state.position
            }
            state.rate = rate
            state.anchorTime = now
            state.anchorPosition = state.position
        }
    }

    /// Pauses and moves `frames` frames on (negative: back), showing the frame reached.
    public func step(frames: Int) {
        var position = state.withLock { $0.mode == .live ? ($0.liveSent ?? $0.position) : $0.position }
        for _ in 0..<frames.magnitude {
            let next = frames > 0 ? history.captureTime(after: position) : history.captureTime(before: position)
            guard let next else { break }
            position = next
        }
        command { state, now in
            state.mode = .paused
            state.position = position
            state.anchorTime = now
            state.anchorPosition = position
            state.pendingShows = 2
            state.hasEnded = false
        }
    }

    /// Shows the camera's newest frames as they come, at rate 1.
    public func goLive() {
        command { [broadcaster] state, _ in state.goLive(canGoLive: broadcaster != nil) }
    }

    /// Ends the playback: its stream ends after the frame being sent, and commands change nothing more.
    public func finish() {
        command { state, _ in state.hasEnded = true }
    }

    /// Where the playback is now.
    public var playbackState: PlaybackState {
        state.withLock { snapshot(of: $0) }
    }

    /// The playback's state now and after every change (a command, going live, the end), for a player's display; the
    /// sequence ends when the playback is gone. Keeps only the newest state for a slow reader.
    public func stateUpdates() -> AsyncStream<PlaybackState> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: PlaybackState.self,
            bufferingPolicy: .bufferingNewest(1)
        )
        let id = state.withLock { state in
            state.nextListener += 1
            return state.nextListener
        }
        // Set outside the lock: a stream that ends at once calls it on this thread.
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.listeners.removeValue(forKey: id) }
        }
        state.withLock { state in
            state.listeners[id] = continuation
            continuation.yield(snapshot(of: state))
        }
        return stream
    }

    private func snapshot(of state: State) -> PlaybackState {
        let position =
            state.mode == .live
            ? max(state.latestLive?.captureMicros ?? .min, state.liveSent ?? state.position) : state.position
        let newest = max(state.latestLive?.captureMicros ?? .min, history.timeRange?.upperBound ?? .min)
        return PlaybackState(
            positionMicros: position,
            rate: state.mode == .live ? 1 : state.rate,
            isPaused: state.mode == .paused,
            isLive: state.mode == .live,
            behindLiveMicros: state.mode == .live || newest == .min ? 0 : max(0, newest - position),
            hasEnded: state.hasEnded
        )
    }

    /// Changes the state, wakes the consumer and tells the listeners.
    private func command(_ change: (inout State, Duration) -> Void) {
        let now = clock.now()
        let (waiter, listeners, changed) = state.withLock { state in
            change(&state, now)
            return (state.bump(), Array(state.listeners.values), snapshot(of: state))
        }
        waiter?.resume()
        for listener in listeners { listener.yield(changed) }
    }

    private func receiveLive(_ frame: Frame) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.latestLive = frame.recorded
            return state.wantsLiveFrames ? state.bump() : nil
        }
        waiter?.resume()
    }

    // MARK: The stream

    /// The next frame to send, when it is due; `nil` when the playback has reached its end or the task is
    /// cancelled. For one consumer at a time.
    public func nextFrame() async -> RecordedFrame? {
        while !Task.isCancelled {
            let (step, changedTo) = state.withLock { state -> (Step, PlaybackState?) in
                let wasLive = state.mode == .live
                let wasEnded = state.hasEnded
                let step = nextStep(&state, now: clock.now())
                let changed = wasLive != (state.mode == .live) || wasEnded != state.hasEnded
                return (step, changed ? snapshot(of: state) : nil)
            }
            if let changedTo {
                for listener in state.withLock({ Array($0.listeners.values) }) { listener.yield(changedTo) }
            }
            switch step {
            case .send(let frame):
                return frame
            case .end:
                return nil
            case .wait(let deadline, let generation):
                await waitForChange(after: generation, until: deadline)
            }
        }
        return nil
    }

    /// Decides what to do now: send a frame (recording it as sent), wait, or end.
    private func nextStep(_ state: inout State, now: Duration) -> Step {
        state.wantsLiveFrames = false
        if state.hasEnded { return .end }
        let heartbeatDue = state.lastSent.map { $0 + configuration.heartbeat }
        if state.pendingShows > 0 {
            state.pendingShows -= 1
            if let frame = history.frame(atOrBefore: state.position) ?? history.frame(after: state.position) {
                // Playing on from here: the schedule starts when the frame goes out (a stream may open a while
                // after its session was made).
                state.anchorTime = now
                state.anchorPosition = frame.captureMicros
                state.position = frame.captureMicros
                return send(frame, &state, now: now)
            }
        }
        switch state.mode {
        case .live:
            if let latest = state.latestLive, latest.captureMicros > (state.liveSent ?? .min) {
                state.liveSent = latest.captureMicros
                state.position = latest.captureMicros
                return send(latest, &state, now: now)
            }
            return heartbeat(&state, now: now, due: heartbeatDue, waitingForLive: true)
        case .paused:
            return heartbeat(&state, now: now, due: heartbeatDue, waitingForLive: false)
        case .playing:
            return play(&state, now: now, heartbeatDue: heartbeatDue)
        }
    }

    private func play(_ state: inout State, now: Duration, heartbeatDue: Duration?) -> Step {
        let interval = Duration.seconds(1 / configuration.maxFramesPerSecond)
        if let lastSent = state.lastSent, now < lastSent + interval {
            return .wait(until: lastSent + interval, generation: state.generation)
        }
        let forward = state.rate > 0
        // Times from the index decide; only the frame sent is read.
        guard
            let next = forward
                ? history.captureTime(after: state.position) : history.captureTime(before: state.position)
        else {
            if forward, state.rate >= 1, broadcaster != nil {
                state.goLive(canGoLive: true)
                state.liveSent = state.position
                return nextStep(&state, now: now)
            }
            if !forward {
                // The oldest frame: stop there.
                state.mode = .paused
            }
            return heartbeat(&state, now: now, due: heartbeatDue, waitingForLive: forward)
        }
        if let end, forward ? next > end : false {
            state.hasEnded = true
            return .end
        }
        let gap = (next - state.position).magnitude
        if gap > configuration.gapSkip.microseconds.magnitude {
            // Skip the gap: the frame after it is due now.
            state.anchorTime = now
            state.anchorPosition = next
            return sendRead(next, forward: forward, &state, now: now, interval: interval)
        }
        let elapsed = Double((now - state.anchorTime).microseconds)
        let target = state.anchorPosition + Int64(elapsed * state.rate)
        let due = state.anchorTime + .microseconds(Int64(Double(next - state.anchorPosition) / state.rate))
        if forward ? next > target : next < target {
            return .wait(until: due, generation: state.generation)
        }
        // On or behind schedule: the newest frame the schedule has reached, skipping those in between.
        var chosen = next
        if let newest = forward ? history.captureTime(atOrBefore: target) : history.captureTime(atOrAfter: target),
            forward ? newest > next : newest < next
        {
            chosen = newest
        }
        if let end, chosen > end, let last = history.captureTime(atOrBefore: end), last > state.position {
            chosen = last
        }
        return sendRead(chosen, forward: forward, &state, now: now, interval: interval)
    }

    /// Reads the frame captured at `micros` (or, if it cannot be read, the next readable one in the direction of
    /// play) and sends it; if none can be read, moves past it and tries again after a frame's interval.
    private func sendRead(
        _ micros: Int64,
        forward: Bool,
        _ state: inout State,
        now: Duration,
        interval: Duration
    ) -> Step {
        guard let frame = forward ? history.frame(atOrAfter: micros) : history.frame(atOrBefore: micros) else {
            state.position = micros
            return .wait(until: now + interval, generation: state.generation)
        }
        if let end, forward, frame.captureMicros > end {
            // The frames up to the end could not be read.
            state.hasEnded = true
            return .end
        }
        state.position = frame.captureMicros
        return send(frame, &state, now: now)
    }

    /// Sends the last frame again when the heartbeat is due; otherwise waits for it (or a live frame).
    private func heartbeat(_ state: inout State, now: Duration, due: Duration?, waitingForLive: Bool) -> Step {
        state.wantsLiveFrames = waitingForLive
        if let due, now >= due, let frame = state.lastFrame {
            return send(frame, &state, now: now)
        }
        return .wait(until: due ?? now + configuration.heartbeat, generation: state.generation)
    }

    private func send(_ frame: RecordedFrame, _ state: inout State, now: Duration) -> Step {
        state.lastSent = now
        state.lastFrame = frame
        return .send(frame)
    }

    /// Waits until a command or a live frame changes the generation, or the deadline passes.
    private func waitForChange(after generation: UInt64, until deadline: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask { [clock] in try? await clock.sleep(until: deadline) }
            }
            group.addTask { await self.waitForGeneration(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForGeneration(after generation: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    guard state.generation == generation, !Task.isCancelled else { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}
