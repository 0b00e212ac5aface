import Synchronization

/// Counts the open streams of each client address and refuses those over a limit.
final class StreamsPerAddress: Sendable {
    let maximum: Int
    private let counts = Mutex<[String: Int]>([:])

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// A place for one more stream from `address`, or `nil` when the address has `maximum` open already; the place
    /// is freed when the slot goes away.
    func admit(_ address: String) -> Slot? {
        let admitted = counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < maximum else { return false }
            counts[address] = current + 1
            return true
        }
        return admitted ? Slot(limit: self, address: address) : nil
    }

    /// The open streams of an address.
    func current(_ address: String) -> Int {
        counts.withLock { $0[address, default: 0] }
    }

    /// One admitted stream.
    final class Slot: Sendable {
        let limit: StreamsPerAddress
        let address: String

        init(limit: StreamsPerAddress, address: String) {
            self.limit = limit
            self.address = address
        }

        deinit {
            limit.counts.withLock { counts in
                let left = counts[address, default: 1] - 1
                counts[address] = left > 0 ? left : nil
            }
        }
    }
}
