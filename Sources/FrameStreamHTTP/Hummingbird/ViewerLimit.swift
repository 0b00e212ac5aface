import CoreMetrics
import Synchronization

/// Counts the viewers of a stream and refuses those over the limit.
final class ViewerLimit: Sendable {
    let maximum: Int
    private let count = Atomic<Int>(0)
    /// The camera's viewer gauge, which follows the count; `nil` for none.
    private let gauge: Meter?

    init(maximum: Int, gauge: Meter? = nil) {
        self.maximum = maximum
        self.gauge = gauge
    }

    var current: Int { count.load(ordering: .relaxed) }

    /// A place for one viewer, or `nil` when all are taken; the place is freed when the slot goes away.
    func admit() -> Slot? {
        while true {
            let now = count.load(ordering: .relaxed)
            guard now < maximum else { return nil }
            if count.compareExchange(expected: now, desired: now + 1, ordering: .relaxed).exchanged {
                gauge?.increment()
                return Slot(limit: self)
            }
        }
    }

    /// One admitted viewer.
    final class Slot: Sendable {
        let limit: ViewerLimit

        init(limit: ViewerLimit) {
            self.limit = limit
        }

        deinit {
            limit.count.subtract(1, ordering: .relaxed)
            limit.gauge?.decrement()
        }
    }
}
