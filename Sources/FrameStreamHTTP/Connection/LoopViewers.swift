/// The fast-path viewers of one camera on one event loop, used only on that loop: ``ViewerHub`` hands each frame
/// to each loop once, and this offers it to the loop's viewers.
///
/// Each frame visits the viewers from a different starting point, so that the same viewers are not always the
/// last to be written to (and, when the machine runs short of CPU, the last to get a frame at all).
final class LoopViewers<Viewer: FastPathViewer> {
    /// The viewers, in no particular order.
    private(set) var viewers: [Viewer] = []
    /// Where each viewer is in ``viewers``.
    private var positions: [ObjectIdentifier: Int] = [:]
    /// The viewer that the next frame visits first.
    private var start = 0

    /// Adds a viewer.
    func add(_ viewer: Viewer) {
        guard positions[ObjectIdentifier(viewer)] == nil else { return }
        positions[ObjectIdentifier(viewer)] = viewers.count
        viewers.append(viewer)
    }

    /// Removes a viewer; the last one takes its place.
    func remove(_ viewer: Viewer) {
        guard let position = positions.removeValue(forKey: ObjectIdentifier(viewer)) else { return }
        let last = viewers.removeLast()
        if position < viewers.count {
            viewers[position] = last
            positions[ObjectIdentifier(last)] = position
        }
    }

    /// Offers a part to every viewer, starting about 62 % further along than the previous frame did (the golden
    /// ratio's step spreads the starting points evenly over any number of viewers).
    func offer(_ part: MJPEGPart, sequence: UInt64, isHeartbeat: Bool) {
        // A copy: a viewer whose write fails leaves the list while it is being visited.
        let visited = viewers
        let count = visited.count
        guard count > 0 else { return }
        start = (start + max(1, count * 618 / 1000)) % count
        for index in start..<count {
            visited[index].offer(part, sequence: sequence, isHeartbeat: isHeartbeat)
        }
        for index in 0..<start {
            visited[index].offer(part, sequence: sequence, isHeartbeat: isHeartbeat)
        }
    }
}

@available(*, unavailable)
extension LoopViewers: Sendable {}
