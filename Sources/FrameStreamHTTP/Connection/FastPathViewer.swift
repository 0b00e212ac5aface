/// A viewer that a ``LoopFeed`` offers parts to: on the fast path, a ``StreamConnectionHandler``. Used only on the
/// viewer's event loop.
protocol FastPathViewer: AnyObject, SendableMetatype {
    /// A part: a newer frame, or the last one again as a heartbeat.
    func offer(_ part: MJPEGPart, sequence: UInt64, isHeartbeat: Bool)
    /// Ends the viewer's stream cleanly (the hub has shut down).
    func endStream()
}
