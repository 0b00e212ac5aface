import Synchronization

import struct Foundation.Date
import class Foundation.DateFormatter

extension FrameBroadcaster {
    /// What viewers see while the camera has no picture (see ``PlaceholderFrame``).
    public struct Placeholders: Sendable, Hashable {
        /// Whether viewers get placeholders at all.
        public var isEnabled: Bool
        /// A JPEG to show instead of the generated picture with text.
        public var image: [UInt8]?
        /// The generated picture's size before the camera has sent a frame (after, the size of its frames).
        public var size: FrameSize
        /// How long a running camera may send no new frame before viewers are told there is no signal.
        public var noSignalAfter: Duration
        /// How often a new placeholder is made while the camera has no picture; the first one comes after this too,
        /// so that a camera that starts quickly shows no placeholder.
        public var interval: Duration
        /// What the picture calls the camera ("/dev/video0"); `nil` for the camera's name in the logs.
        public var cameraLabel: String?

        /// Creates the settings: on, generated at 640×480, no signal after 10 s, a new picture every second.
        public init(
            isEnabled: Bool = true,
            image: [UInt8]? = nil,
            size: FrameSize = FrameSize(width: 640, height: 480),
            noSignalAfter: Duration = .seconds(10),
            interval: Duration = .seconds(1),
            cameraLabel: String? = nil
        ) {
            self.isEnabled = isEnabled
            self.image = image
            self.size = size
            self.noSignalAfter = noSignalAfter
            self.interval = interval
            self.cameraLabel = cameraLabel
        }

        /// No placeholders: viewers wait for the camera's frames (with heartbeats) and snapshots get a plain `503`.
        public static let off = Placeholders(isEnabled: false)
    }

    /// The placeholder shown now, if the camera has no picture; for a snapshot that found no frame.
    public var currentPlaceholder: PlaceholderFrame? {
        state.withLock { $0.placeholder }
    }

    /// While the camera runs, every ``Placeholders/interval`` in which it has no picture, makes a new placeholder and
    /// wakes the subscribers that wait with heartbeats; until cancelled.
    func tickPlaceholders() async {
        let settings = configuration.placeholders
        guard settings.isEnabled else { return }
        while true {
            do {
                try await clock.sleep(for: settings.interval)
            } catch {
                return
            }
            let now = clock.now()
            let situation = state.withLock { state -> PlaceholderSituation? in
                guard let reason = state.placeholderReason(now: now, noSignalAfter: settings.noSignalAfter) else {
                    state.placeholder = nil
                    return nil
                }
                return PlaceholderSituation(
                    reason: reason,
                    latestSequence: state.latest?.sequence,
                    latestJPEG: state.latest?.jpeg,
                    lastFrameTime: state.latest?.captureTime,
                    lastError: state.lastError,
                    lastErrorTime: state.lastErrorTime,
                    startedAt: state.runStartedAt
                )
            }
            guard let situation else { continue }
            let text = settings.image == nil ? placeholderText(for: situation, settings: settings) : []
            let jpeg: [UInt8]
            if let image = settings.image {
                jpeg = image
            } else {
                let size =
                    situation.latestJPEG.flatMap { jpeg in
                        jpeg.withUnsafeBytes { JPEGMarkers.pixelSize(in: $0) }.map {
                            FrameSize(width: $0.width, height: $0.height)
                        }
                    } ?? settings.size
                guard let made = try? PlaceholderPicture.jpeg(lines: text, size: size) else { continue }
                jpeg = made
            }
            let made = state.withLock { state -> (PlaceholderFrame, [FrameWaiter])? in
                // A frame that came meanwhile wins.
                guard state.latest?.sequence == situation.latestSequence,
                    state.placeholderReason(now: clock.now(), noSignalAfter: settings.noSignalAfter) != nil
                else { return nil }
                state.placeholderCount += 1
                let placeholder = PlaceholderFrame(
                    jpeg: jpeg,
                    reason: situation.reason,
                    text: text,
                    time: Date(),
                    number: state.placeholderCount
                )
                state.placeholder = placeholder
                let waiting = state.frameWaiters.filter(\.value.wantsHeartbeats)
                for id in waiting.keys { state.frameWaiters[id] = nil }
                return (placeholder, Array(waiting.values))
            }
            // Every waiter taken out above is resumed, with the placeholder of the same lock.
            guard let (placeholder, waiters) = made else { continue }
            for waiter in waiters {
                waiter.continuation.resume(returning: .placeholder(placeholder))
            }
        }
    }

    /// The words on a placeholder: what happened, to which camera, since when, and the time now.
    private func placeholderText(for situation: PlaceholderSituation, settings: Placeholders) -> [String] {
        let camera = settings.cameraLabel ?? metrics.camera
        let clockTime = Self.timeOfDay(Date())
        switch situation.reason {
        case .starting:
            let since = situation.startedAt.map { " since \(Self.timeOfDay($0))" } ?? ""
            return ["CAMERA STARTING\u{2026}", camera, "starting\(since)", clockTime]
        case .retrying:
            let since = situation.lastFrameTime ?? situation.lastErrorTime
            return [
                "NO SIGNAL \u{2014} \(camera)",
                // Redacted already: the broadcaster keeps only the redacted error.
                situation.lastError ?? "the camera failed",
                (since.map { "since \(Self.timeOfDay($0)) \u{00B7} " } ?? "") + "retrying\u{2026}",
                clockTime,
            ]
        case .noSignal:
            let since = situation.lastFrameTime.map { " since \(Self.timeOfDay($0))" } ?? ""
            return ["NO SIGNAL \u{2014} \(camera)", "no new frame\(since)", clockTime]
        }
    }

    /// `10:42:13`, in the machine's time zone.
    static func timeOfDay(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// What a placeholder is made from, read under the broadcaster's lock.
struct PlaceholderSituation {
    var reason: PlaceholderFrame.Reason
    var latestSequence: UInt64?
    var latestJPEG: [UInt8]?
    var lastFrameTime: Date?
    var lastError: String?
    var lastErrorTime: Date?
    var startedAt: Date?
}

extension BroadcastState {
    /// Why the camera has no picture now, if it has none.
    func placeholderReason(now: Duration, noSignalAfter: Duration) -> PlaceholderFrame.Reason? {
        switch phase {
        case .stopped: return nil
        // A start after a failure is a retry: the picture keeps saying so.
        case .starting: return consecutiveFailures > 0 ? .retrying : .starting
        case .retrying: return .retrying
        case .streaming:
            guard let latest, now - latest.publishedAt >= noSignalAfter else { return nil }
            return .noSignal
        }
    }
}
