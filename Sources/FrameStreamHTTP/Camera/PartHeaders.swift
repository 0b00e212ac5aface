import Foundation

/// What the headers of one multipart part say about its image, as far as a relay cares: the upstream's frame
/// number and capture time, which FrameStream itself sends (``MJPEGPartEncoder``) and so do some cameras, and
/// whether the image is one of FrameStream's placeholders.
///
/// Values come from an upstream that may be hostile: each is read only if it is short and well-formed, and is
/// otherwise ignored — never trusted, never a trap.
struct PartHeaders: Sendable, Hashable {
    /// `X-Frame-Sequence`: the upstream's number for the frame.
    var sequence: UInt64?
    /// `X-Timestamp`: when the upstream captured the frame, in seconds since 1970.
    var timestamp: Double?
    /// Whether the part has `X-Placeholder`: a picture another FrameStream server shows while its camera has none
    /// (starting, failed, no signal), not a frame of the camera.
    var isPlaceholder = false

    /// The most bytes of headers read before an image; longer header blocks are ignored.
    static let maximumBytes = 8192

    /// The header block that ends right before `end`, the start of an image: the lines after the last line that
    /// is not a header (such as the boundary), up to the blank line before the image.
    /// - Parameters:
    ///   - bytes: the stream's bytes.
    ///   - start: where the block may start at the earliest; only ``maximumBytes`` before `end` are read.
    ///   - startIsLineStart: whether `start` is the start of a line (and not in the middle of one whose beginning
    ///     is gone).
    ///   - end: where the image starts.
    static func parse(_ bytes: [UInt8], from start: Int, startIsLineStart: Bool, to end: Int) -> PartHeaders {
        let from = max(start, end - maximumBytes)
        var lines = bytes[from..<end].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if from != start || !startIsLineStart { lines.removeFirst() }
        // The image follows the blank line that ends the headers: without one, these are no headers.
        guard lines.count >= 2, lines.removeLast().isEmpty, lines.removeLast().allSatisfy({ $0 == 0x0D }) else {
            return PartHeaders()
        }
        var headers = PartHeaders()
        for line in lines.reversed() {
            guard let (name, value) = header(in: line) else { break }
            switch name {
            case "x-frame-sequence" where headers.sequence == nil:
                headers.sequence = sequence(value)
            case "x-timestamp" where headers.timestamp == nil:
                headers.timestamp = timestamp(value)
            case "x-placeholder":
                headers.isPlaceholder = true
            default:
                break
            }
        }
        return headers
    }

    /// The lowercased name and the value of a `Name: value` line, or `nil` if it is not one.
    private static func header(in line: ArraySlice<UInt8>) -> (String, Substring)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
            line[..<colon].allSatisfy({ isTokenByte($0) })
        else { return nil }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
        return (name, Substring(value).trimmingWhitespace())
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    /// A frame number: 1 to 20 decimal digits that fit in 64 bits.
    private static func sequence(_ value: Substring) -> UInt64? {
        guard (1...20).contains(value.utf8.count), value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return UInt64(value)
    }

    /// Seconds since 1970: digits with at most one decimal point, finite and positive.
    private static func timestamp(_ value: Substring) -> Double? {
        guard (1...32).contains(value.utf8.count),
            value.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: ".") }),
            value.utf8.filter({ $0 == UInt8(ascii: ".") }).count <= 1,
            let seconds = Double(value), seconds.isFinite, seconds > 0
        else { return nil }
        return seconds
    }

    /// When the frame was captured: the upstream's `X-Timestamp` if it is sane — not in the future and not more
    /// than ``maximumTimestampAge`` before `receipt` — otherwise `receipt`.
    ///
    /// A timestamp a little after the receipt means the two clocks disagree by a little: the receipt is then
    /// the better capture time. One far off (an upstream without a synchronised clock, one that sends
    /// nonsense) is ignored.
    func captureTime(receivedAt receipt: Date) -> Date {
        guard let timestamp else { return receipt }
        let time = Date(timeIntervalSince1970: timestamp)
        let age = receipt.timeIntervalSince(time)
        guard age >= -Self.allowedClockSkew, age <= Self.maximumTimestampAge else { return receipt }
        return min(time, receipt)
    }

    /// How far the upstream's clock may run ahead of ours for its timestamps to be used.
    static let allowedClockSkew: TimeInterval = 60
    /// How old an upstream timestamp may be to be used.
    static let maximumTimestampAge: TimeInterval = 3600
}

extension Substring {
    /// Without spaces, tabs and carriage returns at either end.
    fileprivate func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[first...last]
    }
}
