import CoreMetrics
import Dispatch
public import FrameStream
import Glibc
public import Logging
public import ServiceLifecycle
import Synchronization

import struct Foundation.Date
import class Foundation.Thread

/// Saves every frame of a camera to disk, exactly as captured, for playback, rewinding and export.
///
/// A recorder is a `Service`. While it runs it keeps the camera on (its idle stop is off) and sees every frame the
/// broadcaster publishes, however slow the viewers are. A thread of its own appends each frame's JPEG and then its
/// index record to the current segment with `pwrite(2)`: once written, a frame survives a crash of the process
/// (`kill -9`). Every ``Configuration/durability`` the segment is `fdatasync`ed, which bounds what a power loss can
/// take. Segments are cut every ``Configuration/segmentDuration`` and at gaps, so that time never goes backwards
/// inside one.
///
/// A write error (a full disk, a folder that is not writable) is logged once, shown in ``status``, and retried every
/// ``Configuration/retryInterval``; frames that come meanwhile are counted as dropped. Live viewers are never
/// slowed: the broadcaster only hands frames to the recorder's queue.
///
/// ```swift
/// let store = try RecordingStore(folder: "/var/lib/framestream", logger: logger)
/// let recorder = FrameRecorder(camera: "front", broadcaster: camera, store: store, logger: logger)
/// app.addServices(camera, recorder)
/// ```
public final class FrameRecorder: Service, RecordingSource, CustomStringConvertible {
    /// How a camera is recorded.
    public struct Configuration: Sendable, Hashable {
        /// How long a segment runs before the next one begins.
        public var segmentDuration: Duration
        /// The most bytes in one segment.
        public var maxSegmentBytes: UInt64
        /// How often written frames are forced to the disk (`fdatasync`): the most a power loss can lose.
        public var durability: Duration
        /// What to keep of this camera.
        public var keep: RetentionLimits
        /// A gap between frames longer than this begins a new segment.
        public var gap: Duration
        /// How long to wait after a write error before trying again.
        public var retryInterval: Duration
        /// The most frame bytes waiting for the disk; past it new frames are dropped (and counted).
        public var maxQueuedBytes: Int

        /// Creates a configuration: 60 s segments, a sync every second, nothing deleted by default.
        public init(
            segmentDuration: Duration = .seconds(60),
            maxSegmentBytes: UInt64 = 256 << 20,
            durability: Duration = .seconds(1),
            keep: RetentionLimits = RetentionLimits(),
            gap: Duration = .seconds(2),
            retryInterval: Duration = .seconds(1),
            maxQueuedBytes: Int = 64 << 20
        ) {
            self.segmentDuration = segmentDuration
            self.maxSegmentBytes = maxSegmentBytes
            self.durability = durability
            self.keep = keep
            self.gap = gap
            self.retryInterval = retryInterval
            self.maxQueuedBytes = maxQueuedBytes
        }
    }

    private struct Queue: Sendable {
        var frames: [Frame] = []
        var bytes = 0
        var stopping = false
        var dropped: UInt64 = 0
    }

    /// The camera's name in the store.
    public let camera: String
    /// How the camera is recorded.
    public let configuration: Configuration
    /// Where it records.
    public let store: RecordingStore
    private let broadcaster: FrameBroadcaster
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let statusState = Mutex(RecorderStatus())

    /// Creates a recorder; it records once ``run()`` runs.
    /// - Parameters:
    ///   - camera: the camera's name in the store (letters, digits, `-`, `_`, `.`).
    ///   - broadcaster: the camera.
    ///   - store: where to record.
    ///   - configuration: segments, durability and what to keep.
    ///   - logger: where errors, recoveries and deletions are logged.
    public init(
        camera: String,
        broadcaster: FrameBroadcaster,
        store: RecordingStore,
        configuration: Configuration = Configuration(),
        logger: Logger
    ) {
        self.camera = camera
        self.broadcaster = broadcaster
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "camera"] = logger[metadataKey: "camera"] ?? "\(camera)"
        self.logger = logger
        store.setLimits(configuration.keep, gap: configuration.gap, camera: camera, metrics: broadcaster.metrics)
    }

    /// `FrameRecorder(camera: NAME)`, for logs.
    public var description: String { "FrameRecorder(camera: \(camera))" }

    /// What the recorder has done.
    public var status: RecorderStatus {
        var status = statusState.withLock { $0 }
        status.framesDropped += queue.withLock { $0.dropped }
        return status
    }

    /// The camera's recording by time, for one reader.
    public func makeHistory() -> any FrameHistory {
        store.history(camera: camera)
    }

    /// The recorded stretches that overlap `range`, from the catalog: broken where frames were more than
    /// ``Configuration/gap`` apart, as the segments are.
    public func recordedSpans(overlapping range: ClosedRange<Int64>) -> [RecordedSpan] {
        store.spans(camera: camera, overlapping: range, joiningGap: configuration.gap)
    }

    /// Records until the task is cancelled or a graceful shutdown begins; then writes what is queued, closes the
    /// segment (synced to disk) and returns.
    public func run() async throws {
        let observation = broadcaster.observeFrames { [weak self] frame in self?.enqueue(frame) }
        let keepAlive = broadcaster.subscribe()
        logger.info("recording", metadata: ["folder": "\(store.folder)"])
        statusState.withLock { $0.recording = true }
        if let free = store.currentFreeSpace() { broadcaster.metrics.recorderFreeBytes.set(free.availableBytes) }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runWriterThread() }
            group.addTask {
                // Retention at least every 10 s, also while no segment closes.
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(10)) } catch { return }
                    _ = await self.enforceRetentionOffTheLoop()
                }
            }
            // Returns at a graceful shutdown or when the task is cancelled.
            try? await gracefulShutdown()
            observation.cancel()
            queue.withLock { $0.stopping = true }
            wake.signal()
            group.cancelAll()
        }
        withExtendedLifetime(keepAlive) {}
        statusState.withLock { $0.recording = false }
        logger.info("recording stopped", metadata: ["framesWritten": "\(status.framesWritten)"])
    }

    /// Retention reads and deletes files: off the cooperative pool.
    private func enforceRetentionOffTheLoop() async -> Int {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [store, broadcaster] in
                let deleted = store.enforceRetention()
                if let free = store.currentFreeSpace() {
                    broadcaster.metrics.recorderFreeBytes.set(free.availableBytes)
                }
                continuation.resume(returning: deleted)
            }
        }
    }

    /// Called by the broadcaster for every frame: queues it for the writer thread.
    private func enqueue(_ frame: Frame) {
        let accepted = queue.withLock { queue in
            guard !queue.stopping else { return false }
            guard queue.bytes + frame.jpeg.count <= configuration.maxQueuedBytes else {
                queue.dropped += 1
                return false
            }
            queue.frames.append(frame)
            queue.bytes += frame.jpeg.count
            return true
        }
        if accepted { wake.signal() }
    }

    /// Runs the writer on a thread of its own until the queue is stopped and empty.
    private func runWriterThread() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                var writer = SegmentSink(recorder: self)
                writer.run()
                continuation.resume()
            }
            thread.name = "FrameStream recorder \(camera)"
            thread.start()
        }
    }

    fileprivate func takeFrames(waitingUntil deadline: DispatchTime) -> (frames: [Frame], stopping: Bool) {
        _ = wake.wait(timeout: deadline)
        return queue.withLock { queue in
            defer {
                queue.frames.removeAll(keepingCapacity: true)
                queue.bytes = 0
            }
            return (queue.frames, queue.stopping)
        }
    }

    fileprivate func updateStatus(_ change: (inout RecorderStatus) -> Void) {
        statusState.withLock { change(&$0) }
    }

    fileprivate var recorderLogger: Logger { logger }
    fileprivate var metrics: CameraMetrics { broadcaster.metrics }
}

/// The writer thread's state: the open segment and what it takes to cut, sync and retry.
private struct SegmentSink {
    let recorder: FrameRecorder
    var writer: SegmentWriter?
    var open: OpenSegment?
    var lastMicros: Int64?
    var dirty = false
    var nextSync = DispatchTime.now()
    var failing = false
    var retryAt = DispatchTime.now()

    init(recorder: FrameRecorder) {
        self.recorder = recorder
    }

    var configuration: FrameRecorder.Configuration { recorder.configuration }

    mutating func run() {
        while true {
            let deadline = dirty ? nextSync : DispatchTime.now() + .milliseconds(500)
            let (frames, stopping) = recorder.takeFrames(waitingUntil: deadline)
            for frame in frames { write(frame) }
            if dirty, DispatchTime.now() >= nextSync || stopping { sync() }
            if stopping {
                close()
                return
            }
        }
    }

    mutating func write(_ frame: Frame) {
        if failing {
            guard DispatchTime.now() >= retryAt else {
                recorder.updateStatus { $0.framesDropped += 1 }
                return
            }
        }
        var micros = frame.captureMicros
        var flags: SegmentIndexRecord.Flags = []
        if let last = lastMicros {
            if micros <= last, last - micros <= 1_000_000 {
                // Same microsecond, or a small step back of the clock: keep time increasing inside the segment.
                micros = last + 1
            } else if micros <= last || micros - last > configuration.gap.microseconds {
                close()
                flags.insert(.discontinuity)
            }
        }
        if let writer, let first = writer.firstMicros,
            micros - first >= configuration.segmentDuration.microseconds
                || writer.dataBytes + UInt64(frame.jpeg.count) > configuration.maxSegmentBytes
        {
            close()
        }
        do {
            if writer == nil {
                let (writer, open) = try recorder.store.openSegment(camera: recorder.camera, startMicros: micros)
                self.writer = writer
                self.open = open
                nextSync = DispatchTime.now() + Self.dispatch(configuration.durability)
            }
            let record = try writer!.append(frame.jpeg, captureMicros: micros, flags: flags)
            open?.append(record)
            lastMicros = micros
            dirty = true
            if failing {
                failing = false
                recorder.recorderLogger.notice("recording resumed")
                recorder.updateStatus { $0.recording = true }
            }
            recorder.metrics.recorderBytesWritten.increment(by: frame.jpeg.count + SegmentIndexRecord.size)
            recorder.updateStatus { status in
                status.framesWritten += 1
                status.bytesWritten += UInt64(frame.jpeg.count + SegmentIndexRecord.size)
                status.lastWrittenMicros = micros
                status.lastWrittenSequence = frame.sequence
            }
        } catch {
            fail(error)
        }
    }

    mutating func fail(_ error: RecordingError) {
        recorder.metrics.recorderErrors.increment()
        recorder.updateStatus { status in
            status.framesDropped += 1
            status.recording = false
            status.lastError = error.description
            status.lastErrorTime = Date()
        }
        if !failing {
            recorder.recorderLogger.error(
                "recording failed: \(error)",
                metadata: ["retryIn": "\(configuration.retryInterval.secondsDescription)"]
            )
        }
        failing = true
        retryAt = DispatchTime.now() + Self.dispatch(configuration.retryInterval)
        if let open, writer?.frames == 0 {
            // A segment whose first frame failed: nothing to keep.
            try? writer?.close()
            recorder.store.discard(open)
            writer = nil
            self.open = nil
        }
        // A full disk may be helped by deleting old footage now.
        recorder.store.enforceRetention()
    }

    mutating func sync() {
        guard let writer, let open else { return }
        do {
            try writer.sync()
            dirty = false
            nextSync = DispatchTime.now() + Self.dispatch(configuration.durability)
            recorder.store.recordProgress(of: open, writer: writer, closed: false)
        } catch {
            fail(error)
        }
    }

    mutating func close() {
        guard let writer, let open else { return }
        self.writer = nil
        self.open = nil
        dirty = false
        do {
            try writer.close()
        } catch {
            recorder.recorderLogger.error("segment not closed cleanly: \(error)")
        }
        if writer.frames == 0 {
            recorder.store.discard(open)
        } else {
            recorder.store.recordProgress(of: open, writer: writer, closed: true)
        }
        recorder.store.enforceRetention()
    }

    static func dispatch(_ duration: Duration) -> DispatchTimeInterval {
        .microseconds(Int(duration.microseconds))
    }
}
