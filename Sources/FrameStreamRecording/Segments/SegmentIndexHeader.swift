/// The first ``size`` (64) bytes of a segment's index file: what the file is, whose camera, and when the segment
/// starts.
///
/// | bytes | field |
/// |---|---|
/// | 0–7 | magic `FSSEGIDX` |
/// | 8–9 | version, u16 (1) |
/// | 10–11 | record size, u16 (24) |
/// | 12–15 | reserved, 0 |
/// | 16–23 | ``startMicros``, i64 |
/// | 24–63 | ``camera``, UTF-8, padded with zeros |
///
/// All numbers are little-endian.
package struct SegmentIndexHeader: Sendable, Hashable {
    /// The size of an encoded header in bytes.
    package static let size = 64
    /// The format version this code writes and reads.
    package static let version: UInt16 = 1
    /// The most bytes of the camera's name kept in the header.
    package static let maximumCameraBytes = 40
    private static let magic = Array("FSSEGIDX".utf8)

    /// The name of the camera the segment was recorded from: at most ``maximumCameraBytes`` bytes of UTF-8.
    package var camera: String
    /// The capture time of the segment's first frame, in microseconds since 1970.
    package var startMicros: Int64

    /// Creates a header; a camera name longer than ``maximumCameraBytes`` bytes is cut after its last whole
    /// character that fits, so that the header reads back equal to what was written.
    package init(camera: String, startMicros: Int64) {
        self.camera = String(Self.fitting(camera))
        self.startMicros = startMicros
    }

    /// The header's ``size`` bytes.
    package func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.size)
        withUnsafeBytes(of: Self.version.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt16(SegmentIndexRecord.size).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(0)) { bytes += $0 }
        withUnsafeBytes(of: startMicros.littleEndian) { bytes += $0 }
        bytes += Self.fitting(camera).utf8  // `camera` may have been set to a longer name since `init`
        bytes += [UInt8](repeating: 0, count: Self.size - bytes.count)
        return bytes
    }

    /// The longest start of `camera` that is whole characters and at most ``maximumCameraBytes`` bytes.
    private static func fitting(_ camera: String) -> Substring {
        var bytes = 0
        var end = camera.startIndex
        for character in camera {
            bytes += character.utf8.count
            guard bytes <= maximumCameraBytes else { break }
            end = camera.index(after: end)
        }
        return camera[..<end]
    }

    /// The header in the first ``size`` bytes of `bytes`.
    /// - Parameter path: the index file's path, for the error.
    /// - Throws: ``RecordingError/corruptIndex(path:reason:)`` if the bytes are too few, are not an index header,
    ///   or are of another version.
    package static func decode(_ bytes: [UInt8], path: String = "") throws(RecordingError) -> SegmentIndexHeader {
        guard bytes.count >= size else {
            throw .corruptIndex(path: path, reason: "\(bytes.count) bytes, shorter than the \(size)-byte header")
        }
        guard bytes.starts(with: magic) else {
            throw .corruptIndex(path: path, reason: "not a segment index (no FSSEGIDX at its start)")
        }
        let (version, recordSize, startMicros) = bytes.withUnsafeBytes { raw in
            (
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)),
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self)),
                Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self))
            )
        }
        guard version == Self.version else {
            throw .corruptIndex(path: path, reason: "version \(version); this program reads version \(Self.version)")
        }
        guard recordSize == SegmentIndexRecord.size else {
            throw .corruptIndex(
                path: path,
                reason: "records of \(recordSize) bytes; version \(version) has \(SegmentIndexRecord.size)"
            )
        }
        let name = bytes[24..<size].prefix { $0 != 0 }
        return SegmentIndexHeader(camera: String(decoding: name, as: UTF8.self), startMicros: startMicros)
    }
}
