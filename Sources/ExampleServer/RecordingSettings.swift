/// A camera's recording, as the configuration file's `record:` and `--record DIR` give it.
struct RecordingSettings: Equatable, Sendable {
    /// The folder of the recordings (cameras that share one share its catalog); each camera's files are in
    /// `PATH/NAME/`.
    var path: String
    /// Seconds per segment.
    var segment: Double = 60
    /// Seconds between syncs to disk: the most a power loss can lose.
    var durability: Double = 1
    /// Days of footage to keep; `nil` for no age limit.
    var keepDays: Double?
    /// Bytes to keep of this camera; `nil` for no limit.
    var keepBytes: Int64?
    /// The least free space to leave on the file system; 5 % by default.
    var minFree: Amount? = .fraction(0.05)

    /// An amount that is either bytes or a fraction of something (`20GB`, `5%`).
    enum Amount: Equatable, Sendable {
        case bytes(Int64)
        case fraction(Double)
    }

    /// The keys of `record:`.
    static let keys = ["path", "segment", "durability", "keep", "minFree"]

    /// The first value that cannot be used, if any.
    func problem() -> CameraConfiguration.Problem? {
        if path.isEmpty {
            return .init(key: "record", expected: "a path, such as record: { path: /var/lib/framestream }")
        }
        if !(segment >= 1 && segment <= 3600) {
            return .init(key: "record", expected: "a segment from 1 s to an hour (3600s)")
        }
        if !(durability >= 0.01 && durability <= 60) {
            return .init(key: "record", expected: "a durability from 0.01 s to a minute (60s)")
        }
        if let keepDays, !(keepDays > 0 && keepDays <= 36500) {
            return .init(key: "record", expected: "keep days from more than 0 to 36500")
        }
        if let keepBytes, keepBytes < 1 << 20 {
            return .init(key: "record", expected: "keep bytes of at least 1MB")
        }
        if case .fraction(let value) = minFree, !(value >= 0 && value < 1) {
            return .init(key: "record", expected: "minFree from 0% to 99%")
        }
        return nil
    }

    /// `20GB`, `500MB`, `1.5TB`, `1024` (bytes); powers of 1024.
    static func bytes(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("TB", 0x1p40), ("GB", 0x1p30), ("MB", 0x1p20), ("KB", 0x1p10), ("B", 1)]
        let upper = text.uppercased().filter { $0 != " " }
        for (unit, scale) in units where upper.hasSuffix(unit) {
            guard let value = Double(upper.dropLast(unit.count)), value.isFinite, value >= 0, value * scale < 9e18
            else {
                return nil
            }
            return Int64(value * scale)
        }
        guard let value = Int64(upper), value >= 0 else { return nil }
        return value
    }

    /// `60s`, `500ms`, `10m`, `2h`, `7d`, `30` (seconds), in seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        let lower = text.lowercased().filter { $0 != " " }
        for (unit, scale) in units where lower.hasSuffix(unit) {
            guard let value = Double(lower.dropLast(unit.count)), value.isFinite, value >= 0 else { return nil }
            return value * scale
        }
        guard let value = Double(lower), value.isFinite, value >= 0 else { return nil }
        return value
    }

    /// `5%` as a fraction, or bytes.
    static func amount(_ text: String) -> Amount? {
        if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), value.isFinite else { return nil }
            return .fraction(value / 100)
        }
        return bytes(text).map(Amount.bytes)
    }
}

/// How much of a camera's last minutes a server keeps in memory for pausing and rewinding the live view:
/// `timeshift: 30s` (the default, at most 64 MB), `timeshift: 100MB`, `timeshift: off`.
enum TimeshiftSetting: Equatable, Sendable {
    case off
    case seconds(Double)
    case bytes(Int64)

    /// The default: 30 s.
    static let standard = TimeshiftSetting.seconds(30)
    /// The memory a time limit may take at most, so that a large picture cannot exhaust a small machine's memory.
    static let defaultMaxBytes = 64 << 20

    /// `30s`, `2m`, `100MB`, `off`/`0`.
    init?(_ text: String) {
        let lower = text.lowercased()
        if lower == "off" || lower == "0" || lower == "false" || lower == "no" {
            self = .off
        } else if lower.hasSuffix("b"), let bytes = RecordingSettings.bytes(text), bytes > 0 {
            self = .bytes(bytes)
        } else if let seconds = RecordingSettings.seconds(text), seconds > 0, seconds <= 86_400 {
            self = .seconds(seconds)
        } else {
            return nil
        }
    }
}
