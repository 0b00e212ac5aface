/// The size of a video frame in pixels, as written on a command line: `640x480`.
public struct FrameSize: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Creates a size from its width and height in pixels.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Parses `WIDTHxHEIGHT`, such as `1280x720`; `nil` unless both are whole numbers from 1 to 16384.
    public init?(_ description: String) {
        let parts = description.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
            (1...16384).contains(width), (1...16384).contains(height)
        else { return nil }
        self.init(width: width, height: height)
    }

    /// `WIDTHxHEIGHT`, such as `640x480`.
    public var description: String { "\(width)x\(height)" }
}
