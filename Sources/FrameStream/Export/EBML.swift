/// The bytes of EBML elements (RFC 8794), the binary layout Matroska is written in: each element is its ID, its
/// size as a variable-length integer, and its data.
enum EBML {
    /// The size field that says "unknown size, up to the end of the parent", eight bytes long: what a streamed
    /// Segment has, since its length is not known when its start is sent.
    static let unknownSize: [UInt8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]

    /// An element ID's bytes. IDs carry their own length marker in their first byte, so they are written as they
    /// are, big-endian, without leading zero bytes.
    static func id(_ id: UInt32) -> [UInt8] {
        let count = id > 0xFF_FFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1
        return (0..<count).reversed().map { UInt8(truncatingIfNeeded: id >> (8 * UInt32($0))) }
    }

    /// A size as a variable-length integer in as few bytes as it takes (at most eight). The value with all data
    /// bits set is reserved for "unknown", so a size of 127 takes two bytes, not one.
    static func size(_ size: Int) -> [UInt8] {
        precondition(size >= 0 && size < (1 << 56) - 1, "EBML size out of range: \(size)")
        var length = 1
        while size >= (1 << (7 * length)) - 1 { length += 1 }
        let marked = UInt64(size) | (1 << UInt64(7 * length))
        return (0..<length).reversed().map { UInt8(truncatingIfNeeded: marked >> (8 * UInt64($0))) }
    }

    /// An element whose data is `data` (a master element's data is its children, already written).
    static func element(_ id: UInt32, _ data: [UInt8]) -> [UInt8] {
        var bytes = Self.id(id)
        bytes += size(data.count)
        bytes += data
        return bytes
    }

    /// An unsigned integer element, in as few bytes as the value takes (one byte for zero).
    static func unsigned(_ id: UInt32, _ value: UInt64) -> [UInt8] {
        element(id, bigEndian(value, count: max(1, (64 - value.leadingZeroBitCount + 7) / 8)))
    }

    /// A signed integer element, in eight bytes (two's complement).
    static func signed(_ id: UInt32, _ value: Int64) -> [UInt8] {
        element(id, bigEndian(UInt64(bitPattern: value), count: 8))
    }

    /// A floating-point element, in eight bytes (IEEE 754 double, big-endian).
    static func float(_ id: UInt32, _ value: Double) -> [UInt8] {
        element(id, bigEndian(value.bitPattern, count: 8))
    }

    /// A string element: ASCII or UTF-8 bytes, without a terminating zero.
    static func string(_ id: UInt32, _ value: String) -> [UInt8] {
        element(id, Array(value.utf8))
    }

    /// The low `count` bytes of `value`, most significant first.
    static func bigEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}
