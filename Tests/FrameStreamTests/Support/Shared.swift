import Synchronization

/// A value shared between a test and the tasks it starts, under a lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) {
        self.value = Mutex(value)
    }

    /// The value now.
    var current: Value { value.withLock { $0 } }

    /// Changes the value.
    func update(_ body: (inout Value) -> Void) {
        value.withLock { body(&$0) }
    }
}
