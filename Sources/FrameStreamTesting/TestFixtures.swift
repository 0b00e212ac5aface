import Foundation

/// The package's `Fixtures` folder, for tests that run in a checkout of the package: the emulated camera's three
/// images as files (`1.jpg`, `2.jpg`, `3.jpg`).
public enum TestFixtures {
    /// The folder's path, found from this file's place in the checkout.
    public static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // FrameStreamTesting
        .deletingLastPathComponent()  // Sources
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("Fixtures")
        .path
}
