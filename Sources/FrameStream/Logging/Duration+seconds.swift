extension Duration {
    /// The duration in seconds for messages, to the millisecond, without trailing zeros: `0.3 s`, `10 s`, `1.25 s`.
    package var secondsDescription: String {
        let (seconds, attoseconds) = components
        let milliseconds = (Double(seconds) * 1000 + Double(attoseconds) / 1e15).rounded()
        guard milliseconds.magnitude < 1e15 else { return "\(seconds) s" }
        let whole = Int64(milliseconds.magnitude)
        var fraction = whole % 1000 == 0 ? "" : ".\(String(whole % 1000 + 1000).dropFirst())"
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(milliseconds < 0 ? "-" : "")\(whole / 1000)\(fraction) s"
    }
}

extension Duration {
    /// The duration in whole microseconds (rounded toward zero), as recordings count time.
    package var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
