/// How segment files and their folders are named: `YYYY-MM-DD/START_US-SEQ.mjpeg` and `…/START_US-SEQ.idx`.
///
/// `START_US` is the capture time of the segment's first frame in microseconds since 1970, in decimal, and `SEQ` a
/// counter, zero-padded to six digits, that keeps names unique when two segments start in the same microsecond
/// (after the clock steps back, say). The start time in the name lets recovery rebuild a lost index header.
///
/// ```swift
/// SegmentName.baseName(startMicros: 1_700_000_000_123_456, sequence: 7)  // "1700000000123456-000007"
/// SegmentName.dayFolder(startMicros: 1_700_000_000_123_456)  // "2023-11-14"
/// ```
package enum SegmentName {
    /// The extension of a segment's data file.
    package static let dataExtension = "mjpeg"
    /// The extension of a segment's index file.
    package static let indexExtension = "idx"

    /// The name of a segment's files without their extension: `START_US-SEQ`.
    package static func baseName(startMicros: Int64, sequence: Int) -> String {
        let digits = String(sequence)
        return "\(startMicros)-\(String(repeating: "0", count: max(0, 6 - digits.count)))\(digits)"
    }

    /// The folder for the day (UTC) a segment starts in: `YYYY-MM-DD`.
    package static func dayFolder(startMicros: Int64) -> String {
        let days = floorDivide(startMicros, 86_400_000_000)
        let (year, month, day) = civilDate(daysSince1970: days)
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// The start time in a segment's file name (`START_US-SEQ`, with or without an extension or a folder), or `nil`
    /// if the name is not one of a segment.
    package static func startMicros(fromFileName name: String) -> Int64? {
        var base = Substring(name)
        if let slash = base.lastIndex(of: "/") {
            base = base[base.index(after: slash)...]
        }
        if let dot = base.firstIndex(of: ".") {
            base = base[..<dot]
        }
        guard let dash = base.lastIndex(of: "-"), dash != base.startIndex else { return nil }
        let sequence = base[base.index(after: dash)...]
        guard !sequence.isEmpty, sequence.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(base[..<dash])
    }

    /// The sequence number in a segment's file name (`START_US-SEQ`), or `nil` if the name is not one of a segment.
    package static func sequence(fromFileName name: String) -> Int? {
        guard startMicros(fromFileName: name) != nil else { return nil }
        var base = Substring(name)
        if let slash = base.lastIndex(of: "/") { base = base[base.index(after: slash)...] }
        if let dot = base.firstIndex(of: ".") { base = base[..<dot] }
        guard let dash = base.lastIndex(of: "-") else { return nil }
        return Int(base[base.index(after: dash)...])
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`): no
    /// Foundation calendar, no time zone to get wrong.
    private static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
