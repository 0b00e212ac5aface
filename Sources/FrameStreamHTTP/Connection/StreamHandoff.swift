import HTTPTypes
import Logging
import Synchronization

/// A stream that a route has accepted, on its way to the connection that serves it: how the router's decision
/// reaches ``StreamConnectionHandler`` without either writing over the other.
///
/// The route (after all middleware) admits the viewer and returns a response whose head carries the hand-off's
/// token in ``tokenField``. When that head passes the connection's handler, the handler takes the hand-off out of
/// the table of pending ones, removes the field, and either serves the stream itself, fed by a ``ViewerHub``
/// (``Outcome/served`` once the stream has ended), or only guards the connection and lets the response body write
/// it (``Outcome/writeItYourself``). The response body waits for that outcome: only one party ever writes.
///
/// A response that a middleware replaces, or that is never written, releases its hand-off, which leaves the table.
final class StreamHandoff: Sendable {
    /// How the response body goes on once the connection's handler has seen the head.
    enum Outcome: Sendable, Equatable {
        /// The handler has served the whole stream; the body only ends the response.
        case served
        /// The handler guards the connection; the body writes the stream.
        case writeItYourself
    }

    private enum State {
        case pending
        case waiting(UnsafeContinuation<Outcome, Never>)
        case resolved(Outcome)
    }

    /// The response header that carries the token from the route to the connection's handler; never sent.
    static let tokenField = HTTPField.Name("FrameStream-Handoff")!
    /// The request header with which a connection's handler tells routes that it is there; see ``connectionMarker``.
    static let connectionField = HTTPField.Name("FrameStream-Connection")!
    /// The value of ``connectionField``: random for each process, so that a client cannot pretend that a
    /// connection without the handler has one (its stream would wait for a handler that is not there).
    static let connectionMarker = String(UInt64.random(in: 1...UInt64.max), radix: 36)

    /// The hand-offs whose heads have not reached a handler yet; entries live for microseconds.
    private static let table = Mutex<[UInt64: WeakHandoff]>([:])
    private static let tokens = Atomic<UInt64>(0)

    /// Identifies the hand-off in the response head.
    let token: UInt64
    /// The feed of the camera's fast path, or `nil` when the stream must go through the response body (a frame
    /// rate cap, say).
    let hub: ViewerHub?
    /// How long the viewer may accept nothing before its connection is closed.
    let stallTimeout: Duration
    /// Where the viewer's arrival and departure are logged.
    let logger: Logger
    /// The viewer's place under the client limit, held until the stream has ended.
    let slot: ViewerLimit.Slot
    private let state = Mutex(State.pending)

    init(hub: ViewerHub?, stallTimeout: Duration, logger: Logger, slot: ViewerLimit.Slot) {
        self.hub = hub
        self.stallTimeout = stallTimeout
        self.logger = logger
        self.slot = slot
        self.token = Self.tokens.add(1, ordering: .relaxed).newValue
        Self.table.withLock { $0[token] = WeakHandoff(handoff: self) }
    }

    deinit {
        _ = Self.table.withLock { $0.removeValue(forKey: token) }
    }

    /// The head field to put into the response.
    var tokenValue: String { String(token) }

    /// Takes the hand-off whose token a response head carries out of the table; `nil` if it has gone (its response
    /// was dropped) or the value is not a token.
    static func claim(_ value: String) -> StreamHandoff? {
        guard let token = UInt64(value) else { return nil }
        return table.withLock { $0.removeValue(forKey: token) }?.handoff
    }

    /// Tells the response body how to go on; only the first call counts.
    func resolve(_ outcome: Outcome) {
        let waiter = state.withLock { state -> UnsafeContinuation<Outcome, Never>? in
            switch state {
            case .pending:
                state = .resolved(outcome)
                return nil
            case .waiting(let continuation):
                state = .resolved(outcome)
                return continuation
            case .resolved:
                return nil
            }
        }
        waiter?.resume(returning: outcome)
    }

    /// Waits for the handler's decision. A cancelled wait (the server is going away) returns ``Outcome/served``:
    /// there is nothing left to write.
    ///
    /// The continuation is unsafe but resumed exactly once: only by whoever moves the state from `waiting` to
    /// `resolved` under the lock.
    func outcome() async -> Outcome {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Outcome, Never>) in
                let ready = state.withLock { state -> Outcome? in
                    switch state {
                    case .pending:
                        if Task.isCancelled {
                            state = .resolved(.served)
                            return .served
                        }
                        state = .waiting(continuation)
                        return nil
                    case .waiting:
                        preconditionFailure("a stream hand-off is awaited once")
                    case .resolved(let outcome):
                        return outcome
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            resolve(.served)
        }
    }
}

/// A table entry that does not keep its hand-off alive: a response that is dropped takes its hand-off with it.
private struct WeakHandoff: Sendable {
    weak var handoff: StreamHandoff?
}
