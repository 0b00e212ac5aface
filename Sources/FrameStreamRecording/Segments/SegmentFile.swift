#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file of a segment: a descriptor and its path, with the system calls the segment types need, retried when
/// interrupted and mapped to ``RecordingError``s that name the file.
///
/// It does not close itself: its owner calls ``close()`` exactly once.
struct SegmentFile: Sendable {
    /// Writes up to `count` bytes at an offset, like `pwrite(2)`: the bytes written, or -1 with `errno` set.
    typealias WriteFunction = @Sendable (Int32, UnsafeRawPointer, Int, Int64) -> Int

    /// The file's path, for errors.
    let path: String
    let descriptor: Int32

    /// The system's `pwrite`.
    static let systemWrite: WriteFunction = { descriptor, bytes, count, offset in
        pwrite(descriptor, bytes, count, off_t(offset))
    }

    /// Opens `path` with `flags` (`O_CLOEXEC` is added) and, if they create it, `mode`.
    init(path: String, flags: Int32, mode: mode_t = 0o644) throws(RecordingError) {
        var descriptor: Int32
        repeat {
            descriptor = open(path, flags | O_CLOEXEC, mode)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        self.path = path
        self.descriptor = descriptor
    }

    /// The file's size in bytes.
    func size() throws(RecordingError) -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .readFailed(path: path, errno: errno) }
        return UInt64(status.st_size)
    }

    /// Writes all of `bytes` at `offset`, going on after short writes, with `write` (the system's `pwrite` unless a
    /// test injects failures). Positioned writes keep no file position that a failed write could leave astray.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, with write: WriteFunction) throws(RecordingError) {
        var done = 0
        while done < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + done, bytes.count - done, Int64(offset) + Int64(done))
            if result < 0 {
                guard errno == EINTR else { throw .writeFailed(path: path, errno: errno) }
                continue
            }
            // A zero-byte write with nothing wrong would loop forever; the system reports no error for it.
            guard result > 0 else { throw .writeFailed(path: path, errno: EIO) }
            done += result
        }
    }

    /// Writes all of `bytes` at `offset`, going on after short writes.
    func write(_ bytes: [UInt8], at offset: UInt64, with write: WriteFunction) throws(RecordingError) {
        // `withUnsafeBytes` rethrows untyped errors: carry the typed one out in a `Result`.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(RecordingError) in try self.write(raw, at: offset, with: write) }
        }
        try result.get()
    }

    /// Reads exactly `count` bytes at `offset`.
    /// - Returns: the bytes, or fewer if the file ends first.
    func read(count: Int, at offset: UInt64) throws(RecordingError) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let result = pread(
                    descriptor,
                    buffer.baseAddress! + initialized,
                    count - initialized,
                    off_t(offset) + off_t(initialized)
                )
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if result == 0 { return }
                initialized += result
            }
        }
        guard failure == 0 else { throw .readFailed(path: path, errno: failure) }
        return bytes
    }

    /// Cuts (or extends) the file to `size` bytes.
    func truncate(to size: UInt64) throws(RecordingError) {
        var result: Int32
        repeat {
            result = ftruncate(descriptor, off_t(size))
        } while result < 0 && errno == EINTR
        guard result == 0 else { throw .writeFailed(path: path, errno: errno) }
    }

    /// Flushes the file's data to the disk and, unless `dataOnly`, its metadata (`fdatasync` or `fsync`).
    func sync(dataOnly: Bool) throws(RecordingError) {
        guard Self.sync(descriptor, dataOnly: dataOnly) == 0 else { throw .syncFailed(path: path, errno: errno) }
    }

    /// Closes the descriptor.
    func close() {
        // Not retried on EINTR: on Linux the descriptor is released even then, and a retry could close another.
        _ = Self.closeDescriptor(descriptor)
    }

    private static func closeDescriptor(_ descriptor: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(descriptor)
        #else
        Darwin.close(descriptor)
        #endif
    }

    /// `fdatasync` or `fsync`, retried when interrupted; on Darwin `F_FULLFSYNC`, without which its `fsync` leaves
    /// the bytes in the drive's cache.
    static func sync(_ descriptor: Int32, dataOnly: Bool) -> Int32 {
        var result: Int32
        repeat {
            #if os(Linux)
            result = dataOnly ? fdatasync(descriptor) : fsync(descriptor)
            #else
            result = fcntl(descriptor, F_FULLFSYNC)
            if result < 0 && errno != EINTR {
                result = fsync(descriptor)
            }
            #endif
        } while result < 0 && errno == EINTR
        return result
    }
}
