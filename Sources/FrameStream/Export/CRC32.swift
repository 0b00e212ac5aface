/// The CRC-32 of ZIP, PNG and Ethernet (IEEE 802.3: polynomial `0x04C11DB7`, reflected as `0xEDB88320`, starting
/// from and finished with all bits set), one table lookup per byte.
///
/// ```swift
/// var crc = CRC32()
/// crc.update(bytes)
/// crc.value  // 0xCBF43926 for "123456789"
/// ```
struct CRC32: Sendable {
    /// The remainder for each byte value.
    private static let table: [UInt32] = (0..<256).map { byte in
        var value = UInt32(byte)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
        return value
    }

    /// The running remainder, with its bits inverted as the algorithm keeps it.
    private var state: UInt32 = 0xFFFF_FFFF

    /// The CRC of the bytes so far.
    var value: UInt32 { ~state }

    /// A CRC of no bytes yet.
    init() {}

    /// The CRC of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Adds `bytes` to the CRC.
    mutating func update(_ bytes: [UInt8]) {
        var state = self.state
        Self.table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { bytes in
                for byte in bytes { state = table[Int(UInt8(truncatingIfNeeded: state) ^ byte)] ^ (state >> 8) }
            }
        }
        self.state = state
    }
}
