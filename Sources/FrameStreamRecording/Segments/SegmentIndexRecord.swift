/// One frame's entry in a segment's index file: when it was captured, where its JPEG lies in the data file, and the
/// checksum of those bytes.
///
/// Records are ``size`` (24) bytes, little-endian, one after the other after the index header, in the order the
/// frames were written, so the index can be searched by time without parsing:
///
/// | bytes | field |
/// |---|---|
/// | 0–7 | ``captureMicros``, i64 |
/// | 8–11 | ``offset``, u32 |
/// | 12–15 | ``length``, u32 |
/// | 16–19 | ``checksum``, u32 (CRC-32C of the JPEG) |
/// | 20–21 | ``flags``, u16 |
/// | 22–23 | reserved, 0 |
package struct SegmentIndexRecord: Sendable, Hashable {
    /// Facts about a frame beyond its time and place.
    package struct Flags: OptionSet, Sendable, Hashable {
        package var rawValue: UInt16

        /// Creates flags from their bits.
        package init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// The frame was found in the data file after a crash, past the last index record: its capture time is an
        /// estimate.
        package static let recovered = Flags(rawValue: 1 << 0)
        /// The first frame after a gap: the camera restarted or frames were lost before it, so playback should not
        /// pace across it as if it followed the previous frame.
        package static let discontinuity = Flags(rawValue: 1 << 1)
    }

    /// The size of an encoded record in bytes.
    package static let size = 24

    /// When the frame was captured, in microseconds since 1970 (wall clock).
    package var captureMicros: Int64
    /// Where the frame's JPEG starts in the data file.
    package var offset: UInt32
    /// The JPEG's length in bytes.
    package var length: UInt32
    /// CRC-32C of the JPEG's bytes.
    package var checksum: UInt32
    /// What else is known about the frame.
    package var flags: Flags

    /// Creates a record.
    package init(captureMicros: Int64, offset: UInt32, length: UInt32, checksum: UInt32, flags: Flags = []) {
        self.captureMicros = captureMicros
        self.offset = offset
        self.length = length
        self.checksum = checksum
        self.flags = flags
    }

    /// Where the frame's JPEG ends in the data file: the next frame's ``offset``.
    package var end: UInt64 { UInt64(offset) + UInt64(length) }

    /// The record's ``size`` bytes.
    package func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.size) { buffer, count in
            encode(into: UnsafeMutableRawBufferPointer(buffer))
            count = Self.size
        }
    }

    /// Writes the record's ``size`` bytes at the start of `buffer`, which must hold at least that many.
    package func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size, "an index record needs \(Self.size) bytes")
        buffer.storeBytes(of: captureMicros.littleEndian, toByteOffset: 0, as: Int64.self)
        buffer.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: length.littleEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: checksum.littleEndian, toByteOffset: 16, as: UInt32.self)
        buffer.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 20, as: UInt16.self)
        buffer.storeBytes(of: UInt16(0), toByteOffset: 22, as: UInt16.self)
    }

    /// The record in the first ``size`` bytes of `bytes`, which must hold at least that many.
    package static func decode(from bytes: UnsafeRawBufferPointer) -> SegmentIndexRecord {
        precondition(bytes.count >= size, "an index record needs \(size) bytes")
        return SegmentIndexRecord(
            captureMicros: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)),
            offset: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
            length: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
            checksum: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
            flags: Flags(rawValue: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt16.self)))
        )
    }

    /// The complete records in `bytes` (an index file without its header); a partial record at the end is left out.
    package static func decodeAll(from bytes: UnsafeRawBufferPointer) -> [SegmentIndexRecord] {
        (0..<bytes.count / size).map { index in
            decode(from: UnsafeRawBufferPointer(rebasing: bytes[(index * size)...]))
        }
    }
}
