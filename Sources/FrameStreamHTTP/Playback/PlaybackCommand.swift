import FrameStream

/// One command to a playback session, from the query of `POST playback/ID`: `?pause`, `?play`, `?live`,
/// `?seek=TIME`, `?skip=SECONDS`, `?rate=R`, `?step=N`.
enum PlaybackCommand: Hashable {
    case pause
    case play
    case live
    case seek(Int64)
    case skip(Duration)
    case rate(Double)
    case step(Int)

    /// - Throws: ``PlaybackQueryError`` for a missing, unknown or malformed command.
    init(query: [String: String]) throws(PlaybackQueryError) {
        let command = query["command"] ?? Self.names.first { query[$0] != nil } ?? ""
        let value = query[command] ?? query["value"] ?? ""
        switch command {
        case "pause": self = .pause
        case "play": self = .play
        case "live": self = .live
        case "seek": self = .seek(try PlaybackTime.micros(value, name: "seek"))
        case "skip":
            guard value.utf8.count <= 16, let seconds = Double(value), seconds.isFinite, seconds.magnitude <= 3.2e9
            else {
                throw .invalidTime("skip", String(value.prefix(16)))
            }
            self = .skip(.microseconds(Int64(seconds * 1_000_000)))
        case "rate": self = .rate(try Self.rate(value))
        case "step":
            guard let frames = Int(value), (-1000...1000).contains(frames) else {
                throw .invalidStep(String(value.prefix(16)))
            }
            self = .step(frames)
        default:
            throw .unknownCommand(String(command.prefix(32)))
        }
    }

    /// A rate: a number (`0.125`, `-4`) or a fraction (`1/8`), 1/8 to 64 in magnitude.
    static func rate(_ text: String) throws(PlaybackQueryError) -> Double {
        var value: Double?
        if let slash = text.firstIndex(of: "/"), let top = Double(text[..<slash]),
            let bottom = Double(text[text.index(after: slash)...]), bottom != 0
        {
            value = top / bottom
        } else {
            value = Double(text)
        }
        guard text.utf8.count <= 16, let value, Playback.rates.contains(value.magnitude) else {
            throw .invalidRate(String(text.prefix(16)))
        }
        return value
    }

    private static let names = ["pause", "play", "live", "seek", "skip", "rate", "step"]

    func apply(to playback: Playback) throws {
        switch self {
        case .pause: playback.pause()
        case .play: playback.play()
        case .live: playback.goLive()
        case .seek(let micros): playback.seek(to: micros)
        case .skip(let offset): playback.skip(by: offset)
        case .rate(let rate): try playback.setRate(rate)
        case .step(let frames): playback.step(frames: frames)
        }
    }
}
