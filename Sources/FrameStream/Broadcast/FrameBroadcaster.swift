public import CoreMetrics
public import Logging
public import ServiceLifecycle
import Synchronization

import struct Foundation.Date

/// Shares one camera with any number of viewers: the heart of FrameStream.
///
/// A broadcaster runs its ``FrameSource`` only while someone watches. The first ``subscribe()`` starts the camera;
/// when the last subscription has ended and the ``Configuration/idleTimeout`` (10 s by default) has passed, the
/// broadcaster cancels the camera's sequence, which releases the device. A later subscriber starts it again.
///
/// Only the newest frame is kept. Each ``FrameSubscription`` yields a frame only if it is newer than the last one
/// it yielded, so no subscriber ever sees a duplicate, and a subscriber slower than the camera skips to the newest
/// frame instead of working through a backlog. Publishing a frame wakes each waiting subscriber once and hands it
/// the same shared bytes: the cost is one resume per waiting subscriber, and no copy.
///
/// A camera that throws or ends is restarted after a backoff while subscribers remain; they stay subscribed and
/// resume when frames flow again, and ``status`` shows the error.
///
/// The broadcaster is a `Service`: its ``run()`` owns the camera's task. Run it in a `ServiceGroup` next to the
/// HTTP server, or in a task of your own:
///
/// ```swift
/// let broadcaster = FrameBroadcaster(source: try EmulatedCamera(), driverName: "emulated", logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await broadcaster.run() }
///     for await frame in broadcaster.subscribe().prefix(3) {
///         print(frame.sequence, frame.jpeg.count)
///     }
///     group.cancelAll()
/// }
/// ```
public final class FrameBroadcaster: Service, Sendable, CustomStringConvertible {
    /// The camera driver's name, for status and logs.
    public let driverName: String
    /// How the camera is run.
    public let configuration: Configuration

    let source: any FrameSource
    let clock: FrameClock
    let logger: Logger
    let state = Mutex(BroadcastState())
    /// The camera's metrics, which the endpoints and the recorder of this camera count in too.
    package let metrics: CameraMetrics
    /// Numbers each wait for a frame, so that a cancelled wait can be found.
    private let waiterIDs = Atomic<UInt64>(0)
    /// Holds back a failure message that repeats on every restart: one line a minute.
    private let failureLog: LogRepetitionLimiter
    /// Holds back the message of frames that cannot be turned, which comes with every frame of a broken camera.
    private let orientationLog: LogRepetitionLimiter

    /// Creates a broadcaster for a camera; the camera starts when ``run()`` has begun and someone subscribes (in
    /// either order).
    /// - Parameters:
    ///   - source: the camera driver.
    ///   - driverName: the driver's name, shown in status and logs.
    ///   - configuration: the idle timeout and the restart backoff.
    ///   - clock: measures the idle timeout, the backoff and frame ages; tests pass a manual clock.
    ///   - logger: where camera starts, stops and failures are logged, with the metadata `camera` set to the
    ///     driver's name unless the logger has it already.
    ///   - metricsFactory: where the camera's metrics go (see `Docs/metrics.md`), labelled with the logger's
    ///     `camera` metadata (or the driver's name); the process's `MetricsSystem.factory` by default, which records
    ///     nothing until the application bootstraps a backend.
    public init(
        source: any FrameSource,
        driverName: String = "camera",
        configuration: Configuration = Configuration(),
        clock: some Clock<Duration> = ContinuousClock(),
        logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.source = source
        self.driverName = driverName
        self.configuration = configuration
        self.clock = FrameClock(clock)
        self.failureLog = LogRepetitionLimiter(clock: self.clock)
        self.orientationLog = LogRepetitionLimiter(clock: self.clock)
        var logger = logger
        // The caller's camera name, if it gave one; else the driver's.
        logger[metadataKey: "camera"] = logger[metadataKey: "camera"] ?? "\(driverName)"
        self.logger = logger
        self.metrics = CameraMetrics(
            camera: logger[metadataKey: "camera"]?.description ?? driverName,
            factory: metricsFactory
        )
    }

    /// `FrameBroadcaster(camera: NAME)`, for logs.
    public var description: String { "FrameBroadcaster(camera: \(driverName))" }

    /// Starts watching: the camera starts if it is stopped, and stays on at least as long as the subscription
    /// lives (until its last copy and iterator are gone).
    ///
    /// The first frame is the newest one if the camera is streaming, otherwise the next one the camera makes.
    ///
    /// Subscribing before ``run()`` has begun is allowed: the subscription counts at once (``status`` shows it),
    /// its iterator waits, and the camera starts as soon as `run()` begins. After `run()` has returned, a
    /// subscription ends at once.
    public func subscribe() -> FrameSubscription {
        let (id, first, loopWaiter) = state.withLock { state in
            state.subscribers += 1
            state.nextSubscriptionID += 1
            let loopWaiter = state.subscribers == 1 ? state.takeLoopWaiter() : nil
            return (state.nextSubscriptionID, state.firstSequenceForNewSubscriber, loopWaiter)
        }
        loopWaiter?.resume()
        return FrameSubscription(lease: SubscriptionLease(broadcaster: self, id: id), startingAfter: first)
    }

    /// The camera's state now.
    public var status: CameraStatus {
        let now = clock.now()
        return state.withLock { state in
            CameraStatus(
                driver: driverName,
                phase: state.phase,
                subscribers: state.subscribers,
                framesProduced: state.framesProduced,
                framesPerSecond: state.rate.framesPerSecond(now: now),
                lastFrameSequence: state.latest?.sequence,
                lastFrameTime: state.latest?.captureTime,
                lastError: state.lastError,
                lastErrorTime: state.lastErrorTime,
                restarts: state.restarts
            )
        }
    }

    /// Runs the camera whenever anyone watches, until the task is cancelled or a graceful shutdown begins; then
    /// the camera is released and every subscription ends.
    /// - Throws: ``FrameBroadcasterError/alreadyRunning`` if called a second time.
    public func run() async throws {
        try state.withLock { state in
            guard state.lifecycle == .notStarted else { throw FrameBroadcasterError.alreadyRunning }
            state.lifecycle = .running
        }
        defer { shutDown() }
        await cancelWhenGracefulShutdown { await self.runCameraWhileWatched() }
    }

    /// Starts the camera when the first subscriber arrives and stops it when the idle timeout has passed.
    private func runCameraWhileWatched() async {
        while await waitForSubscribers(present: true) {
            logger.info("camera starting", metadata: ["reason": "first viewer"])
            metrics.cameraStarts.increment()
            // A start for a new viewer is not a restart: the backoff begins again.
            state.withLock { state in
                state.consecutiveFailures = 0
                state.runStartedAt = Date()
            }
            let reason = await withDiscardingTaskGroup { group in
                group.addTask { await self.captureWithRestarts() }
                group.addTask { await self.tickPlaceholders() }
                if let interval = self.configuration.heartbeatInterval {
                    group.addTask { await self.tickHeartbeats(every: interval) }
                }
                let reason = await self.waitUntilIdle()
                group.cancelAll()
                return reason
            }
            let left = state.withLock { state in
                state.phase = .stopped
                state.placeholder = nil
                state.rate.reset()
                return state.subscribers
            }
            metrics.cameraStops.increment()
            metrics.cameraStreaming.set(0)
            logger.info("camera stopped", metadata: ["reason": "\(reason)", "subscribers": "\(left)"])
        }
    }

    /// Returns why the camera should stop: the idle timeout passed with nobody watching, or shutdown.
    private func waitUntilIdle() async -> String {
        while await waitForSubscribers(present: false) {
            guard let idleTimeout = configuration.idleTimeout else {
                // Never idle: run until shutdown.
                _ = await waitForSubscribers(present: nil)
                return "shutdown"
            }
            let leftAt = state.withLock { $0.lastSubscriberLeftAt }
            do {
                try await clock.sleep(until: leftAt + idleTimeout)
            } catch {
                return "shutdown"
            }
            let stillIdle = state.withLock { state in
                guard state.subscribers == 0, state.lastSubscriberLeftAt == leftAt else { return false }
                // From now on the newest frame is stale: a new subscriber waits for the next start's first frame.
                state.phase = .stopped
                return true
            }
            if stillIdle {
                return "idle timeout: no viewer for \(idleTimeout)"
            }
        }
        return "shutdown"
    }

    /// Waits until someone subscribes (`present: true`), everyone has gone (`false`), or forever (`nil`).
    /// - Returns: `false` if the task was cancelled first.
    private func waitForSubscribers(present: Bool?) async -> Bool {
        func isMet(_ state: BroadcastState) -> Bool {
            guard let present else { return false }
            return (state.subscribers > 0) == present
        }
        while !Task.isCancelled {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        guard !isMet(state), !Task.isCancelled else { return true }
                        state.loopWaiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.takeLoopWaiter() }?.resume()
            }
            if state.withLock({ isMet($0) }) { return !Task.isCancelled }
        }
        return false
    }

    /// Runs the camera, restarting it after a backoff whenever it fails or ends, until cancelled.
    private func captureWithRestarts() async {
        while !Task.isCancelled {
            state.withLock { state in
                state.phase = .starting
                state.runStreamingSince = nil
            }
            let failure: any Error
            do {
                try await publishFrames(of: source)
                failure = FrameBroadcasterError.sourceEnded(driver: driverName)
            } catch {
                failure = error
            }
            if Task.isCancelled { return }
            metrics.cameraStreaming.set(0)
            metrics.countFailure(failure)
            // Whatever the driver put in its error, a password in an address stays out of status and logs.
            let reason = CredentialRedaction.redacting("\(failure)")
            let failures = state.withLock { state in
                state.phase = .retrying
                state.lastError = reason
                state.lastErrorTime = Date()
                state.consecutiveFailures += 1
                return state.consecutiveFailures
            }
            let delay = configuration.restartBackoff.delay(afterFailures: failures)
            failureLog.log(
                "camera failed: \(reason)",
                level: .error,
                metadata: ["retryIn": "\(delay)", "failuresInARow": "\(failures)"],
                to: logger
            )
            do {
                try await clock.sleep(for: delay)
            } catch {
                return
            }
            state.withLock { $0.restarts += 1 }
            metrics.cameraRestarts.increment()
        }
    }

    /// Publishes the frames of one run of the camera, turned by the configured orientation: by the driver itself if
    /// it can, else here, with one transformer for the run (used by this task alone, one frame after another).
    private func publishFrames<Source: FrameSource>(of source: Source) async throws {
        let orientation = configuration.orientation
        if orientation.isUpright {
            for try await image in source.frames() { publish(image) }
        } else if let orientable = source as? any OrientableFrameSource {
            try await publishFrames(of: orientable, turnedBy: orientation)
        } else {
            let transformer = try JPEGTransformer(orientation: orientation)
            for try await camerasImage in source.frames() {
                var image = camerasImage
                do {
                    image.bytes = try transformer.transform(image.bytes)
                } catch {
                    orientationLog.log(
                        "frame dropped: cannot turn it (\(orientation)): \(error)",
                        level: .warning,
                        metadata: ["bytes": "\(image.bytes.count)"],
                        to: logger
                    )
                    continue
                }
                publish(image)
            }
        }
    }

    private func publishFrames<Source: OrientableFrameSource>(
        of source: Source,
        turnedBy orientation: FrameOrientation
    ) async throws {
        for try await image in source.frames(orientation: orientation) {
            publish(image)
        }
    }

    /// Makes the image the newest frame and wakes every subscriber that waits for one.
    private func publish(_ image: JPEGImage) {
        let now = clock.now()
        let published = state.withLock { state -> (Frame, [UInt64: FrameWaiter], Bool, Bool)? in
            // A frame that comes while the camera is being stopped is not published.
            guard state.phase != .stopped else { return nil }
            guard let sequence = state.sequence(for: image) else { return nil }
            let frame = Frame(sequence: sequence, image: image, publishedAt: now)
            state.nextSequence = sequence + 1
            state.latest = frame
            state.framesProduced += 1
            state.rate.record(now)
            // Failures are forgotten only once this run has streamed for a while, not at its first frame.
            let streamingSince = state.runStreamingSince ?? now
            state.runStreamingSince = streamingSince
            let recovered =
                state.consecutiveFailures > 0 && now - streamingSince >= configuration.restartBackoff.resetAfter
            if recovered { state.consecutiveFailures = 0 }
            let began = state.phase != .streaming
            state.phase = .streaming
            state.placeholder = nil
            let waiters = state.frameWaiters
            state.frameWaiters.removeAll(keepingCapacity: true)
            return (frame, waiters, recovered, began)
        }
        guard let (frame, waiters, recovered, began) = published else { return }
        metrics.framesCaptured.increment()
        metrics.frameSize.record(frame.jpeg.count)
        if began { metrics.cameraStreaming.set(1) }
        // Observers are called in the camera's task, in order, before any viewer is woken: a recorder gets every
        // frame, however slow the viewers are.
        for observer in state.withLock({ $0.frameObservers.isEmpty ? [] : Array($0.frameObservers.values) }) {
            observer(frame)
        }
        if recovered {
            failureLog.reset()
            logger.info(
                "camera recovered",
                metadata: ["frame": "\(frame.sequence)", "streamingFor": "\(configuration.restartBackoff.resetAfter)"]
            )
        }
        for waiter in waiters.values {
            waiter.continuation.resume(returning: .frame(frame))
        }
    }

    /// The newest frame if it is newer than `sequence`, otherwise the next frame published, or with
    /// `heartbeats`, ``FrameSubscription/Event/noNewFrame`` if the camera delivers nothing for a heartbeat interval.
    /// - Returns: `nil` if the task is cancelled or the broadcaster shuts down first.
    /// With `heartbeats`, also the current placeholder if it is newer than `placeholder`
    /// (``FrameSubscription/Event/placeholder(_:)``).
    func nextEvent(
        after sequence: UInt64,
        heartbeats: Bool,
        placeholder: UInt64 = 0,
        lease: SubscriptionLease
    ) async -> FrameSubscription.Event? {
        let id = waiterIDs.add(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<FrameSubscription.Event?, Never>) in
                let ready: FrameSubscription.Event?? = state.withLock { state in
                    if lease.isEnded.load(ordering: .sequentiallyConsistent) { return .some(nil) }
                    if let latest = state.latest, latest.sequence > sequence { return .some(.frame(latest)) }
                    if heartbeats, let current = state.placeholder, current.number > placeholder {
                        return .some(.placeholder(current))
                    }
                    if state.lifecycle == .shutDown || Task.isCancelled { return .some(nil) }
                    state.frameWaiters[id] = FrameWaiter(
                        continuation: continuation,
                        wantsHeartbeats: heartbeats,
                        subscription: lease.id
                    )
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.frameWaiters.removeValue(forKey: id) }?.continuation.resume(returning: nil)
        }
    }

    /// Every heartbeat interval in which the camera published nothing, wakes the subscribers that asked for
    /// heartbeats, so that they can keep their connections alive. Runs while the camera is on, until cancelled.
    private func tickHeartbeats(every interval: Duration) async {
        state.withLock { $0.framesAtLastHeartbeat = $0.framesProduced }
        while true {
            do {
                try await clock.sleep(for: interval)
            } catch {
                return
            }
            let waiters = state.withLock { state -> [FrameWaiter] in
                defer { state.framesAtLastHeartbeat = state.framesProduced }
                // Placeholders keep the connections alive meanwhile; the last frame again would be stale.
                guard state.framesProduced == state.framesAtLastHeartbeat, state.placeholder == nil else { return [] }
                let waiting = state.frameWaiters.filter(\.value.wantsHeartbeats)
                for id in waiting.keys { state.frameWaiters[id] = nil }
                return Array(waiting.values)
            }
            for waiter in waiters {
                waiter.continuation.resume(returning: .noNewFrame)
            }
        }
    }

    /// Ends the waits of one subscription (``FrameSubscription/end()``).
    func endWaits(of subscription: UInt64) {
        let ended = state.withLock { state in
            let ended = state.frameWaiters.filter { $0.value.subscription == subscription }
            for id in ended.keys { state.frameWaiters[id] = nil }
            return Array(ended.values)
        }
        for waiter in ended {
            waiter.continuation.resume(returning: nil)
        }
    }

    /// How many subscribers wait for a frame now.
    var waitingSubscribers: Int { state.withLock { $0.frameWaiters.count } }

    /// Ends a subscription; called when its last copy is gone.
    func unsubscribe() {
        let now = clock.now()
        // No wait of this subscription can be pending: a waiting iterator holds the subscription's lease.
        let loopWaiter = state.withLock { state in
            state.subscribers -= 1
            guard state.subscribers == 0 else { return nil as CheckedContinuation<Void, Never>? }
            state.lastSubscriberLeftAt = now
            return state.takeLoopWaiter()
        }
        loopWaiter?.resume()
    }

    /// Marks the broadcaster stopped for good and ends every subscription.
    private func shutDown() {
        let waiters = state.withLock { state in
            state.lifecycle = .shutDown
            state.phase = .stopped
            let waiters = state.frameWaiters
            state.frameWaiters = [:]
            return waiters
        }
        for waiter in waiters.values {
            waiter.continuation.resume(returning: nil)
        }
    }
}
