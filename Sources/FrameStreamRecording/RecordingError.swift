#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong recording or reading back a camera's video, said so that whoever runs the server knows what to
/// do about it.
///
/// Each case carries the path of the file or folder involved and, for a failed system call, its `errno`; the
/// ``description`` turns the usual `errno` values into advice (`disk full writing …: free space or lower the
/// retention limits`) and uses the system's text for the others.
public enum RecordingError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A folder for recordings could not be created: the disk is full, or the parent is not writable.
    case cannotCreateFolder(path: String, errno: Int32)
    /// A segment file (or a folder, to sync it) could not be opened: it does not exist, it already exists when a new
    /// one was to be created, or it is not accessible.
    case cannotOpen(path: String, errno: Int32)
    /// Writing, truncating or renaming a segment file failed; the segment is left as it was before the frame.
    case writeFailed(path: String, errno: Int32)
    /// Flushing a segment file or its folder to the disk failed: what was written since the last sync may be lost
    /// on a power failure.
    case syncFailed(path: String, errno: Int32)
    /// Reading a segment file failed.
    case readFailed(path: String, errno: Int32)
    /// A segment's index file is not one: `reason` says what is wrong with it. Recovery rebuilds such an index from
    /// the video data.
    case corruptIndex(path: String, reason: String)
    /// A frame's bytes at `offset` in the data file do not match the checksum in its index record (or are not all
    /// there): the disk returned different bytes than were written.
    case corruptFrame(path: String, offset: UInt64)
    /// The frame does not fit in the segment: index records address at most 4 GiB of data. Start a new segment.
    case segmentFull(path: String, bytes: UInt64, frameBytes: Int)
    /// The frame's capture time is before the segment's last frame: a segment's times never go backwards, so that
    /// it can be searched by time. Start a new segment when the clock steps back.
    case timeWentBackwards(path: String, lastMicros: Int64, captureMicros: Int64)

    /// One line: what failed, on which path, and what to do about it.
    public var description: String {
        switch self {
        case .cannotCreateFolder(let path, let code):
            code == ENOTDIR
                ? "cannot create the folder \(path): a file is in the way, where it or one of its parents should be a "
                    + "folder: move that file away or record elsewhere"
                : "cannot create the folder \(path): \(Self.advice(code))"
        case .cannotOpen(let path, let code):
            switch code {
            case EEXIST: "cannot create \(path): it already exists: another recorder may be writing to this folder"
            case ENOENT: "cannot open \(path): no such file or folder"
            default: "cannot open \(path): \(Self.advice(code))"
            }
        case .writeFailed(let path, let code):
            code == ENOSPC
                ? "disk full writing \(path): free space or lower the retention limits"
                : "cannot write \(path): \(Self.advice(code))"
        case .syncFailed(let path, let code):
            "cannot flush \(path) to the disk (recent frames may be lost on a power failure): \(Self.advice(code))"
        case .readFailed(let path, let code):
            "cannot read \(path): \(Self.advice(code))"
        case .corruptIndex(let path, let reason):
            "corrupt segment index \(path): \(reason)"
        case .corruptFrame(let path, let offset):
            "corrupt frame at byte \(offset) of \(path): its bytes do not match their checksum; the disk may be failing"
        case .segmentFull(let path, let bytes, let frameBytes):
            "segment \(path) holds \(bytes) bytes and cannot take a frame of \(frameBytes) more past 4 GiB: "
                + "start a new segment"
        case .timeWentBackwards(let path, let lastMicros, let captureMicros):
            "frame captured at \(captureMicros) µs is before the last frame of \(path) at \(lastMicros) µs: "
                + "start a new segment when the clock steps back"
        }
    }

    /// What an `errno` means for someone recording to a disk.
    private static func advice(_ code: Int32) -> String {
        switch code {
        case ENOSPC: "disk full: free space or lower the retention limits"
        case EDQUOT: "disk quota exceeded: raise the quota or lower the retention limits"
        case EROFS: "not writable, the file system is read-only: check how it is mounted"
        case EACCES, EPERM: "not writable: check the folder's owner and permissions"
        case EIO: "I/O error (errno \(code)): the disk may be failing"
        case EFBIG: "file too large for the file system or the process's file size limit (ulimit -f)"
        default: "\(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
