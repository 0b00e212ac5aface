import Foundation

/// Runs a short blocking call (opening a device, a few ioctls) on a thread of its own, so that it does not hold
/// one of the cooperative pool's threads, which serve every viewer.
enum BlockingCall {
    /// The result of `body`, run on a new thread named `name`.
    static func run<Success: Sendable, Failure: Error>(
        _ name: String,
        _ body: @escaping @Sendable () throws(Failure) -> Success
    ) async throws(Failure) -> Success {
        let result: Result<Success, Failure> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(Failure) -> Success in try body() })
            }
            thread.name = name
            thread.start()
        }
        return try result.get()
    }
}
