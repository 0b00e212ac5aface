/// A camera driver: anything that can produce a sequence of JPEG images.
///
/// A driver implements only ``frames()``. Everything a viewer needs — starting the camera on the first viewer,
/// stopping it when the last one has gone, giving every viewer only fresh frames — is the job of
/// ``FrameBroadcaster``, shared by all drivers.
///
/// The sequence owns the camera's whole life: it opens the device when iteration starts, paces itself at the
/// camera's rate, and must release the device when the iteration ends or its task is cancelled. The broadcaster
/// cancels the iterating task when the camera has been idle for the idle timeout, and starts a new iteration when
/// a viewer comes back. If the sequence throws or ends, the broadcaster calls ``frames()`` again after a backoff
/// while anyone still watches.
///
/// ```swift
/// struct NoiseCamera: FrameSource {
///     func frames() -> AsyncThrowingStream<JPEGImage, any Error> {
///         AsyncThrowingStream {
///             try await Task.sleep(for: .milliseconds(100))
///             return JPEGImage(bytes: try makeNoiseJPEG())
///         }
///     }
/// }
/// ```
public protocol FrameSource: Sendable {
    /// The sequence of images one run of the camera produces.
    associatedtype Frames: AsyncSequence where Frames.Element == JPEGImage

    /// Starts the camera and returns its images, paced at the camera's own rate.
    ///
    /// Called once for every start of the camera. Cancelling the iterating task must stop the camera and release
    /// what it holds (devices, child processes, connections).
    func frames() -> Frames
}
