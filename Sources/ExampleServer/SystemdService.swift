import FrameStream
import FrameStreamHTTP
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The server's side of `Type=notify`: `READY=1` once it listens and the cameras it records (which start with it)
/// stream, `STATUS=` lines with the viewers and the cameras' states, `WATCHDOG=1` while every event loop answers,
/// and `STOPPING=1` at a graceful shutdown. Does nothing without `$NOTIFY_SOCKET`.
final class SystemdService: Service, Sendable {
    private let notifier: SystemdNotifier?
    private let cameras: [MJPEGCameraIndex.Camera]
    /// The cameras that start without a viewer, which readiness waits for.
    private let mustStream: Set<String>
    private let watchdog: Duration?
    private let logger: Logger
    private let listening = Mutex(false)
    /// Whether `READY=1` has been sent.
    private let ready = Mutex(false)

    init(
        environment: [String: String],
        cameras: [MJPEGCameraIndex.Camera],
        mustStream: Set<String>,
        logger: Logger
    ) {
        self.notifier = SystemdNotifier(environment: environment)
        self.watchdog = SystemdNotifier.watchdogInterval(environment: environment)
        self.cameras = cameras
        self.mustStream = mustStream
        self.logger = logger
    }

    /// Called once the server listens.
    func serverIsListening() {
        listening.withLock { $0 = true }
    }

    func run() async throws {
        guard let notifier else {
            // Nothing to tell; a service that returns early would end the group.
            try? await gracefulShutdown()
            return
        }
        logger.debug("telling systemd", metadata: ["socket": "\(notifier.address)"])
        // Status and pings twice per watchdog interval; status every 5 s without one.
        let interval = min(watchdog.map { $0 / 2 } ?? .seconds(5), .seconds(5))
        await withGracefulShutdownHandler {
            var lastSent: ContinuousClock.Instant?
            var lastStatus = ""
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let becameReady = !ready.withLock({ $0 }) && isReady()
                if becameReady { ready.withLock { $0 = true } }
                let text = status()
                let due = lastSent.map { ContinuousClock.now - $0 >= interval } ?? true
                // The status when it changes, and with each ping; readiness once.
                var message: [String] = becameReady ? ["READY=1"] : []
                if due || becameReady || text != lastStatus { message.append("STATUS=\(text)") }
                if due, watchdog != nil {
                    if await eventLoopsAnswer(within: interval) {
                        message.append("WATCHDOG=1")
                    } else {
                        logger.error("an event loop did not answer within \(interval): no watchdog ping")
                    }
                }
                if !message.isEmpty { notifier.send(message) }
                if due { lastSent = .now }
                lastStatus = text
                do {
                    // Readiness is looked at often until it comes; then the status and pings every interval.
                    try await Task.sleep(for: ready.withLock({ $0 }) ? interval : min(interval, .milliseconds(200)))
                } catch {
                    break
                }
            }
        } onGracefulShutdown: {
            notifier.send("STOPPING=1", "STATUS=stopping: ending the streams")
        }
    }

    /// Whether the server listens and every camera that must run streams.
    private func isReady() -> Bool {
        guard listening.withLock({ $0 }) else { return false }
        return cameras.allSatisfy { camera in
            !mustStream.contains(camera.name) || camera.endpoints.broadcaster.status.phase == .streaming
        }
    }

    /// `2 viewers · front: streaming · back: retrying (camera /dev/video1 is busy…)`.
    func status() -> String {
        guard listening.withLock({ $0 }) else { return "starting" }
        var viewers = 0
        var parts: [String] = []
        for camera in cameras {
            let status = camera.endpoints.status()
            viewers += status.clients
            var part = "\(camera.name): \(status.camera.phase.rawValue)"
            if status.camera.phase == .retrying, let error = status.camera.lastError {
                part += " (\(error.prefix(80)))"
            } else if !ready.withLock({ $0 }), mustStream.contains(camera.name), status.camera.phase != .streaming {
                part += " (waiting for it to stream)"
            }
            parts.append(part)
        }
        return (["\(viewers) viewer\(viewers == 1 ? "" : "s")"] + parts).joined(separator: " \u{00B7} ")
    }

    /// Whether a task handed to each of the server's event loops runs within `timeout`. A wedged loop never runs
    /// it: the check gives up at the timeout instead of waiting with it.
    private func eventLoopsAnswer(within timeout: Duration) async -> Bool {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let answers = LoopAnswers()
        for loop in loops { loop.execute { answers.count.add(1, ordering: .relaxed) } }
        let deadline = ContinuousClock.now + timeout
        while answers.count.load(ordering: .relaxed) < loops.count {
            guard ContinuousClock.now < deadline else { return false }
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return false }
        }
        return true
    }
}

/// How many event loops ran the watchdog's task.
private final class LoopAnswers: Sendable {
    let count = Atomic<Int>(0)
}
