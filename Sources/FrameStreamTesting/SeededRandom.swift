/// A small, fast random number generator with a fixed seed (SplitMix64), so that a randomized test does the same
/// thing on every run and a failure can be reproduced.
///
/// ```swift
/// var random = SeededRandom(seed: 1)
/// let noise = random.bytes(100)  // the same 100 bytes on every run
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose numbers follow from `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next random number.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
