public import FrameStream
import Synchronization

/// A camera driven by a test: the test sends each frame, makes the camera fail, and waits for the broadcaster to
/// start or stop it.
///
/// ```swift
/// let camera = ManualCamera()
/// let broadcaster = FrameBroadcaster(source: camera, logger: logger)
/// // … run the broadcaster, subscribe …
/// await camera.waitForStarts(1)
/// camera.send(JPEGImage(bytes: jpeg))
/// ```
public final class ManualCamera: FrameSource, Sendable {
    private struct State {
        var current: AsyncThrowingStream<JPEGImage, any Error>.Continuation?
        var starts = 0
        var stops = 0
        var watchers: [(isMet: @Sendable (Int, Int) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

        mutating func takeSatisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let (starts, stops) = (self.starts, self.stops)
            let satisfied = watchers.filter { $0.isMet(starts, stops) }.map(\.continuation)
            watchers.removeAll { $0.isMet(starts, stops) }
            return satisfied
        }
    }

    private let state = Mutex(State())

    /// Creates a camera that is not running.
    public init() {}

    /// How many times the camera was started.
    public var starts: Int { state.withLock { $0.starts } }
    /// How many times a run of the camera ended (cancelled, failed or finished).
    public var stops: Int { state.withLock { $0.stops } }
    /// Whether a run of the camera is in progress.
    public var isRunning: Bool { state.withLock { $0.current != nil } }

    /// Starts a run: frames sent from now on go to it.
    public func frames() -> AsyncThrowingStream<JPEGImage, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: JPEGImage.self)
        continuation.onTermination = { [weak self] _ in
            self?.change { state in
                state.current = nil
                state.stops += 1
            }
        }
        change { state in
            state.current = continuation
            state.starts += 1
        }
        return stream
    }

    /// Sends a frame to the running camera's viewers; dropped if the camera is not running.
    public func send(_ image: JPEGImage) {
        _ = state.withLock { $0.current }?.yield(image)
    }

    /// Ends the current run with an error, as a camera that is unplugged does.
    public func fail(_ error: any Error) {
        state.withLock { $0.current }?.finish(throwing: error)
    }

    /// Ends the current run without an error.
    public func finish() {
        state.withLock { $0.current }?.finish()
    }

    /// Waits until the camera has been started at least `count` times.
    public func waitForStarts(_ count: Int) async {
        await waitUntil { starts, _ in starts >= count }
    }

    /// Waits until runs of the camera have ended at least `count` times.
    public func waitForStops(_ count: Int) async {
        await waitUntil { _, stops in stops >= count }
    }

    private func waitUntil(_ isMet: @escaping @Sendable (_ starts: Int, _ stops: Int) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if isMet(state.starts, state.stops) { return true }
                state.watchers.append((isMet, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func change(_ body: (inout State) -> Void) {
        let satisfied = state.withLock { state in
            body(&state)
            return state.takeSatisfiedWatchers()
        }
        for watcher in satisfied { watcher.resume() }
    }
}
