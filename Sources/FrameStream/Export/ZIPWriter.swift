public import struct Foundation.Date

/// Writes a ZIP archive of files as it goes, such as the JPEG frames of a recording, each returned as the bytes to
/// send next, so an HTTP response can stream the archive without knowing its size.
///
/// Files are stored as they are (method 0): JPEG images do not get smaller when deflated. Each file's size and
/// CRC-32 come before its data, so no data descriptors are needed, and any unzip tool can read the archive, even
/// one that reads it front to back. Names are UTF-8 (flag bit 11). Modification times are written both as MS-DOS
/// times in UTC and as Unix times (the `UT` extra field), which tools prefer when they know it.
///
/// The archive switches to ZIP64 by itself when it needs to: beyond 65,534 files (a 40-minute recording at
/// 30 frames per second has 72,000) or beyond 4 GiB. Each file itself must be smaller than 4 GiB.
///
/// ```swift
/// var zip = ZIPWriter()
/// for (index, frame) in frames.enumerated() {
///     send(zip.entry(named: "frame-\(index).jpg", bytes: frame.jpeg, modified: frame.date))
/// }
/// send(zip.finish())
/// ```
public struct ZIPWriter: Sendable {
    /// The number of files written so far.
    public private(set) var entryCount = 0
    /// The number of bytes returned so far: the offset in the archive of the next bytes.
    public private(set) var byteCount: UInt64 = 0

    /// The central directory's records, one for each file, written out by ``finish()``.
    private var centralDirectory: [UInt8] = []
    /// Whether ``finish()`` has ended the archive.
    private var finished = false

    /// The largest value the classic 32-bit fields hold; it says "see the ZIP64 field" instead.
    private static let max32: UInt64 = 0xFFFF_FFFF
    /// The largest file count the classic 16-bit fields hold; it says "see the ZIP64 record" instead.
    private static let max16 = 0xFFFF

    /// Creates an empty archive.
    public init() {}

    /// The bytes of one file: its local header, then its data.
    /// - Parameters:
    ///   - name: the file's path in the archive, with `/` between folders and no leading `/`.
    ///   - bytes: the file's contents: less than 4 GiB.
    ///   - modified: the file's modification time.
    public mutating func entry(named name: String, bytes: [UInt8], modified: Date) -> [UInt8] {
        precondition(!finished, "ZIPWriter.entry(named:bytes:modified:) called after finish()")
        let nameBytes = Array(name.utf8)
        precondition(nameBytes.count <= Self.max16, "ZIP entry name longer than 65535 bytes")
        precondition(UInt64(bytes.count) < Self.max32, "ZIP entry of \(bytes.count) bytes: at most 4 GiB - 2")
        let crc = CRC32.checksum(bytes)
        let (dosTime, dosDate) = Self.dosTimeAndDate(modified)
        let unixTime = Self.extendedTimestamp(modified)
        let offset = byteCount

        var local: [UInt8] = []
        local.reserveCapacity(30 + nameBytes.count + unixTime.count + bytes.count)
        local += le32(0x0403_4B50)
        local += le16(20)  // version needed: 2.0, stored files and folders
        local += le16(Self.utf8Flag)
        local += le16(0)  // stored
        local += le16(dosTime) + le16(dosDate)
        local += le32(crc) + le32(UInt32(bytes.count)) + le32(UInt32(bytes.count))
        local += le16(UInt16(nameBytes.count)) + le16(UInt16(unixTime.count))
        local += nameBytes
        local += unixTime
        local += bytes

        // Only the offset can outgrow 32 bits: the sizes are below 4 GiB.
        let zip64Extra = offset >= Self.max32 ? le16(0x0001) + le16(8) + le64(offset) : []
        let extra = zip64Extra + unixTime
        centralDirectory += le32(0x0201_4B50)
        centralDirectory += le16(3 << 8 | (zip64Extra.isEmpty ? 20 : 45))  // made by Unix, version 2.0 or 4.5
        centralDirectory += le16(zip64Extra.isEmpty ? 20 : 45)
        centralDirectory += le16(Self.utf8Flag) + le16(0)
        centralDirectory += le16(dosTime) + le16(dosDate)
        centralDirectory += le32(crc) + le32(UInt32(bytes.count)) + le32(UInt32(bytes.count))
        centralDirectory += le16(UInt16(nameBytes.count)) + le16(UInt16(extra.count))
        centralDirectory += le16(0) + le16(0) + le16(0)  // comment length, first disk, internal attributes
        centralDirectory += le32(0o100644 << 16)  // external attributes: a regular file, rw-r--r--
        centralDirectory += le32(UInt32(min(offset, Self.max32)))
        centralDirectory += nameBytes
        centralDirectory += extra

        entryCount += 1
        byteCount += UInt64(local.count)
        return local
    }

    /// The end of the archive: its central directory, and the records that locate it. Send it last; the writer
    /// takes no more files after it, and a second call returns nothing.
    public mutating func finish() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        let directoryOffset = byteCount
        let directorySize = UInt64(centralDirectory.count)
        var bytes = centralDirectory
        centralDirectory = []
        let needsZIP64 = entryCount >= Self.max16 || directoryOffset >= Self.max32 || directorySize >= Self.max32
        if needsZIP64 {
            let recordOffset = directoryOffset + directorySize
            bytes += le32(0x0606_4B50)
            bytes += le64(44)  // the size of the rest of this record
            bytes += le16(3 << 8 | 45) + le16(45)
            bytes += le32(0) + le32(0)  // this disk, the directory's disk
            bytes += le64(UInt64(entryCount)) + le64(UInt64(entryCount))
            bytes += le64(directorySize) + le64(directoryOffset)
            bytes += le32(0x0706_4B50)  // locator
            bytes += le32(0) + le64(recordOffset) + le32(1)
        }
        bytes += le32(0x0605_4B50)
        bytes += le16(0) + le16(0)  // this disk, the directory's disk
        let count = UInt16(min(entryCount, Self.max16))
        bytes += le16(count) + le16(count)
        bytes += le32(UInt32(min(directorySize, Self.max32))) + le32(UInt32(min(directoryOffset, Self.max32)))
        bytes += le16(0)  // comment length
        byteCount += UInt64(bytes.count)
        return bytes
    }

    /// General-purpose flag bit 11: the name is UTF-8.
    private static let utf8Flag: UInt16 = 1 << 11

    /// An MS-DOS time and date in UTC, to the even second below: 1980-01-01 00:00:00 for earlier dates, and the
    /// last second of 2107 for later ones, the range the format holds.
    private static func dosTimeAndDate(_ date: Date) -> (time: UInt16, date: UInt16) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= 315_532_800 else { return (0, 1 << 5 | 1) }  // 1980-01-01
        guard seconds < 4_354_819_200 else { return (23 << 11 | 59 << 5 | 29, 127 << 9 | 12 << 5 | 31) }  // 2108
        let total = Int64(seconds)
        let days = total / 86400
        let secondOfDay = Int(total % 86400)
        let (year, month, day) = civilDate(daysSince1970: days)
        let time = UInt16(secondOfDay / 3600) << 11 | UInt16(secondOfDay / 60 % 60) << 5 | UInt16(secondOfDay % 60 / 2)
        return (time, UInt16(year - 1980) << 9 | UInt16(month) << 5 | UInt16(day))
    }

    /// The year, month and day of the Gregorian calendar `days` after 1970-01-01 (Howard Hinnant's algorithm).
    private static func civilDate(daysSince1970 days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468  // from 0000-03-01, so that leap days end a year
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// The extended timestamp extra field (`UT`, 0x5455) with the modification time in Unix seconds, or nothing
    /// for a time it cannot hold (before 1970 or after 2106).
    private static func extendedTimestamp(_ date: Date) -> [UInt8] {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= 0, seconds <= Double(UInt32.max) else { return [] }
        return le16(0x5455) + le16(5) + [1] + le32(UInt32(seconds))  // flags: modification time only
    }
}

private func le16(_ value: UInt16) -> [UInt8] {
    [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
}

private func le32(_ value: UInt32) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
}

private func le64(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
