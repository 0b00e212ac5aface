/// How much of one camera's recording to keep: the oldest segments go first when either limit is passed.
public struct RetentionLimits: Sendable, Hashable {
    /// The oldest footage to keep; `nil` for no age limit.
    public var maxAge: Duration?
    /// The most bytes on disk for the camera; `nil` for no limit.
    public var maxBytes: Int64?

    /// Creates limits; by default none (the store's total and free-space limits still apply).
    public init(maxAge: Duration? = nil, maxBytes: Int64? = nil) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }
}
