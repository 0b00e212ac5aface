/// mjpg-streamer's `?action=` values, which dashboards such as OctoPrint and Home Assistant use: `stream` and
/// `snapshot`, and `stream_N` / `snapshot_N` for its input N, counted from 0.
enum MJPEGAction: Equatable {
    case stream(Int?)
    case snapshot(Int?)
    case invalid

    /// The action a query value names; `nil` for no value.
    init?(query value: String?) {
        guard let value else { return nil }
        self = Self.parse(value)
    }

    private static func parse(_ value: String) -> MJPEGAction {
        for (name, make) in [("stream", Self.stream), ("snapshot", Self.snapshot)] {
            if value == name { return make(nil) }
            guard value.hasPrefix(name + "_") else { continue }
            let digits = value.dropFirst(name.count + 1)
            guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let index = Int(digits)
            else {
                return .invalid
            }
            return make(index)
        }
        return .invalid
    }

    /// The one-line reason for a `400`.
    static func unknown(_ action: String, cameras: Int) -> String {
        let numbered = cameras > 1 ? ", or stream_N / snapshot_N with N from 0 to \(cameras - 1)" : ""
        return "unknown action '\(action.prefix(100))': use action=stream or action=snapshot\(numbered)"
    }
}
