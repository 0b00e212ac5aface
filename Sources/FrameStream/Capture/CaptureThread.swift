import Foundation
import Synchronization

/// Runs a camera's blocking capture loop (device ioctls, `poll`, pipe reads) on a thread of its own, and hands its
/// images to async code one at a time.
///
/// Blocking calls must not run on Swift's cooperative thread pool, which has one thread per core and serves every
/// viewer. The loop gets a ``CaptureSink``: it delivers images and checks ``CaptureSink/isStopping`` at least every
/// few hundred milliseconds (for example with a `poll` timeout). Only the newest undelivered image is kept: a
/// consumer slower than the camera skips frames rather than queueing them.
///
/// The thread starts with the first ``next()``. When the consuming task is cancelled, ``next()`` asks the loop to
/// stop and returns only after the loop has ended, so the device is released before the camera counts as stopped.
final class CaptureThread: Sendable {
    private struct State {
        var started = false
        var pending: JPEGImage?
        var failure: (any Error)?
        var finished = false
        var stopRequested = false
        var imageWaiter: CheckedContinuation<Void, Never>?
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let name: String
    private let loop: @Sendable (CaptureSink) throws -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - name: the thread's name, for debuggers.
    ///   - loop: opens the camera, captures until told to stop, and releases the camera before returning.
    init(name: String, loop: @escaping @Sendable (CaptureSink) throws -> Void) {
        self.name = name
        self.loop = loop
    }

    /// The next image; `nil` when the loop has ended; throws the loop's error, or `CancellationError` once the loop
    /// has stopped after the task was cancelled.
    func next() async throws -> JPEGImage? {
        startIfNeeded()
        while true {
            enum Step {
                case image(JPEGImage)
                case failed(any Error)
                case ended
                case wait
            }
            let step = state.withLock { state -> Step in
                if let image = state.pending {
                    state.pending = nil
                    return .image(image)
                }
                if state.finished {
                    if let failure = state.failure {
                        state.failure = nil
                        return .failed(failure)
                    }
                    return .ended
                }
                return .wait
            }
            switch step {
            case .image(let image): return image
            case .failed(let error): throw error
            case .ended: return nil
            case .wait: break
            }
            if Task.isCancelled {
                await stop()
                throw CancellationError()
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if state.pending != nil || state.finished || Task.isCancelled { return true }
                        state.imageWaiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                state.withLock { state in
                    defer { state.imageWaiter = nil }
                    return state.imageWaiter
                }?.resume()
            }
        }
    }

    /// Asks the loop to stop and waits until it has returned.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                state.stopRequested = true
                if state.finished || !state.started {
                    state.finished = true
                    return true
                }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Asks the loop to stop without waiting, for an iterator that is dropped without being cancelled.
    func requestStop() {
        state.withLock { $0.stopRequested = true }
    }

    private func startIfNeeded() {
        let start = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopRequested
        }
        guard start else { return }
        let sink = CaptureSink(thread: self)
        let loop = self.loop
        let thread = Thread { [self] in
            let failure: (any Error)?
            do {
                try loop(sink)
                failure = nil
            } catch {
                failure = error
            }
            finish(failure)
        }
        thread.name = name
        thread.start()
    }

    fileprivate var isStopping: Bool { state.withLock { $0.stopRequested } }

    fileprivate func deliver(_ image: JPEGImage) {
        state.withLock { state in
            state.pending = image
            defer { state.imageWaiter = nil }
            return state.imageWaiter
        }?.resume()
    }

    private func finish(_ failure: (any Error)?) {
        let (imageWaiter, finishWaiters) = state.withLock { state in
            state.finished = true
            state.failure = state.stopRequested ? nil : failure
            defer {
                state.imageWaiter = nil
                state.finishWaiters = []
            }
            return (state.imageWaiter, state.finishWaiters)
        }
        imageWaiter?.resume()
        for waiter in finishWaiters { waiter.resume() }
    }
}

/// What a capture loop running on a ``CaptureThread`` hands its images to.
struct CaptureSink: Sendable {
    fileprivate let thread: CaptureThread

    /// Whether the consumer has gone: the loop should release the camera and return.
    var isStopping: Bool { thread.isStopping }

    /// Hands over an image; an image not yet taken is replaced.
    func deliver(_ image: JPEGImage) {
        thread.deliver(image)
    }
}

/// Owns a ``CaptureThread`` for an iterator: when the iterator is dropped without having been cancelled (a loop
/// that breaks early), the capture loop is told to stop and release the camera.
final class CaptureLease: Sendable {
    let thread: CaptureThread

    init(_ thread: CaptureThread) {
        self.thread = thread
    }

    deinit {
        thread.requestStop()
    }
}

/// The images of a camera whose capture loop runs on a thread of its own: what ``V4L2Camera`` and ``PipeCamera``
/// return from `frames()`. Each iterator starts its own run of the loop on its first `next()`; cancelling the
/// iterating task stops the loop and waits until the camera is released.
public struct CapturedFrames: AsyncSequence, Sendable {
    let name: String
    let loop: @Sendable (CaptureSink) throws -> Void

    init(name: String, loop: @escaping @Sendable (CaptureSink) throws -> Void) {
        self.name = name
        self.loop = loop
    }

    /// Makes an iterator; the camera starts on its first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(capture: CaptureLease(CaptureThread(name: name, loop: loop)))
    }

    /// Yields the camera's images.
    public struct Iterator: AsyncIteratorProtocol {
        let capture: CaptureLease

        /// The next image; throws the camera's error, or `CancellationError` once the camera has stopped after the
        /// task was cancelled.
        public mutating func next() async throws -> JPEGImage? {
            try await capture.thread.next()
        }
    }
}
