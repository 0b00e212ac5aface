import Glibc

/// The room on a file system, as `statvfs` reports it to an unprivileged process.
public struct FreeSpace: Sendable, Hashable {
    /// Bytes that can still be written.
    public var availableBytes: Int64
    /// The file system's size.
    public var totalBytes: Int64

    /// Creates a reading.
    public init(availableBytes: Int64, totalBytes: Int64) {
        self.availableBytes = availableBytes
        self.totalBytes = totalBytes
    }

    /// The file system holding `path`, now; `nil` if it cannot be read.
    public static func of(_ path: String) -> FreeSpace? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let block = Int64(info.f_frsize)
        return FreeSpace(availableBytes: Int64(info.f_bavail) * block, totalBytes: Int64(info.f_blocks) * block)
    }
}
