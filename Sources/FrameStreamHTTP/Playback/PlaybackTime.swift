import Foundation
import FrameStream

/// A time in a playback query: `2026-12-01T10:00:00Z` (RFC 3339, fractions allowed), `1764583200.5` (Unix
/// seconds), or relative to now: `-30s`, `-10m`, `-2h`, `-1d` (`now` for now).
enum PlaybackTime {
    /// The time in microseconds since 1970.
    /// - Throws: ``PlaybackQueryError/invalidTime(_:_:)`` for anything else.
    static func micros(_ text: String, name: String, now: Date = Date()) throws(PlaybackQueryError) -> Int64 {
        guard text.utf8.count <= 64 else { throw .invalidTime(name, String(text.prefix(64))) }
        if text == "now" { return now.microsSince1970 }
        if let offset = relativeOffset(text) { return now.microsSince1970 + offset }
        if let seconds = Double(text), seconds.isFinite, (0...1e11).contains(seconds) {
            return Int64((seconds * 1_000_000).rounded())
        }
        if let date = rfc3339(text) { return date.microsSince1970 }
        throw .invalidTime(name, text)
    }

    /// `-30s`, `+1.5m`, `-2h`, `-1d` as microseconds; `nil` if it is not that form.
    static func relativeOffset(_ text: String) -> Int64? {
        guard let sign = text.first, sign == "-" || sign == "+", let unit = text.last else { return nil }
        let scale: Double
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        default: return nil
        }
        guard let amount = Double(text.dropFirst().dropLast()), amount.isFinite, (0...3.2e9).contains(amount) else {
            return nil
        }
        return Int64((amount * scale * 1_000_000).rounded()) * (sign == "-" ? -1 : 1)
    }

    /// RFC 3339 with or without fractional seconds (to the microsecond).
    static func rfc3339(_ text: String) -> Date? {
        let plain = Date.ISO8601FormatStyle(includingFractionalSeconds: false)
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        guard let dot = text.firstIndex(of: ".") else { return try? plain.parse(text) }
        // The format style reads milliseconds only: parse the whole seconds and add the fraction ourselves.
        var digits = text[text.index(after: dot)...].prefix { $0.isNumber }
        let zone = text[text.index(after: dot)...].dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 9, let base = try? plain.parse(String(text[..<dot]) + zone) else {
            return try? fractional.parse(text)
        }
        while digits.count < 6 { digits += "0" }
        let micros = Int64(digits.prefix(6)) ?? 0
        return Date(microsSince1970: base.microsSince1970 + micros)
    }

    /// `2026-12-01T10:00:00.123456Z`: RFC 3339 in UTC to the microsecond.
    static func format(_ micros: Int64) -> String {
        var seconds = time_t(micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000)
        let fraction = micros - Int64(seconds) * 1_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let digits = String(fraction)
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(String(repeating: "0", count: 6 - digits.count))\(digits)Z"
    }
}
