package import CoreMetrics

package import struct Foundation.Date

/// One camera's metrics, through swift-metrics: the broadcaster counts what the camera makes, the HTTP endpoints
/// what viewers get, the recorder what it writes. Every metric carries the label `camera`.
///
/// The names are listed in `Docs/metrics.md`; the backend is whatever the caller's factory is (the process's
/// `MetricsSystem.factory` unless one is passed), so an embedder picks Prometheus, StatsD or nothing.
package final class CameraMetrics: Sendable {
    /// The camera's name in the label.
    package let camera: String
    let factory: any MetricsFactory

    // The camera (the broadcaster).
    package let framesCaptured: Counter
    package let cameraStarts: Counter
    package let cameraStops: Counter
    package let cameraRestarts: Counter
    /// 1 while the camera delivers frames, 0 otherwise.
    package let cameraStreaming: Meter
    package let frameSize: Recorder

    // The viewers (the HTTP endpoints).
    package let framesSent: Counter
    package let framesSkipped: Counter
    package let bytesSent: Counter
    package let streamViewers: Meter
    package let snapshotViewers: Meter
    /// From capture to the part's handing to the connection.
    package let frameLatency: Timer

    // The recording.
    package let recorderBytesWritten: Counter
    package let recorderErrors: Counter
    package let recorderFreeBytes: Meter

    /// Creates the camera's metrics in `factory`.
    package init(camera: String, factory: any MetricsFactory) {
        self.camera = camera
        self.factory = factory
        let label = [("camera", camera)]
        framesCaptured = Counter(label: "framestream_frames_captured_total", dimensions: label, factory: factory)
        cameraStarts = Counter(label: "framestream_camera_starts_total", dimensions: label, factory: factory)
        cameraStops = Counter(label: "framestream_camera_stops_total", dimensions: label, factory: factory)
        cameraRestarts = Counter(label: "framestream_camera_restarts_total", dimensions: label, factory: factory)
        cameraStreaming = Meter(label: "framestream_camera_streaming", dimensions: label, factory: factory)
        frameSize = Recorder(label: Self.frameSizeLabel, dimensions: label, aggregate: true, factory: factory)
        framesSent = Counter(label: "framestream_frames_sent_total", dimensions: label, factory: factory)
        framesSkipped = Counter(label: "framestream_frames_skipped_total", dimensions: label, factory: factory)
        bytesSent = Counter(label: "framestream_sent_bytes_total", dimensions: label, factory: factory)
        streamViewers = Meter(
            label: "framestream_viewers",
            dimensions: label + [("kind", "stream")],
            factory: factory
        )
        snapshotViewers = Meter(
            label: "framestream_viewers",
            dimensions: label + [("kind", "snapshot")],
            factory: factory
        )
        frameLatency = Timer(label: Self.frameLatencyLabel, dimensions: label, factory: factory)
        recorderBytesWritten = Counter(
            label: "framestream_recorder_written_bytes_total",
            dimensions: label,
            factory: factory
        )
        recorderErrors = Counter(label: "framestream_recorder_errors_total", dimensions: label, factory: factory)
        recorderFreeBytes = Meter(label: "framestream_recorder_free_bytes", dimensions: label, factory: factory)
        cameraStreaming.set(0)
        streamViewers.set(0)
        snapshotViewers.set(0)
    }

    /// The frame-size histogram's name, for a backend's bucket settings.
    package static let frameSizeLabel = "framestream_frame_size_bytes"
    /// The latency histogram's name, for a backend's bucket settings.
    package static let frameLatencyLabel = "framestream_frame_latency_seconds"

    /// Counts a camera failure by its kind: the error's case name (`busy`, `unplugged`, …), else its type's name.
    package func countFailure(_ error: any Error) {
        Counter(
            label: "framestream_camera_failures_total",
            dimensions: [("camera", camera), ("kind", Self.kind(of: error))],
            factory: factory
        ).increment()
    }

    /// Counts a viewer turned away, by the HTTP status it got (`503`, `429`, `401`, `403`).
    package func countRefusal(status: Int) {
        Counter(
            label: "framestream_viewers_refused_total",
            dimensions: [("camera", camera), ("status", String(status))],
            factory: factory
        ).increment()
    }

    /// Counts segments retention deleted from the camera's recording.
    package func countDeletedSegments(_ count: Int) {
        guard count > 0 else { return }
        Counter(
            label: "framestream_recorder_deleted_segments_total",
            dimensions: [("camera", camera)],
            factory: factory
        )
        .increment(by: count)
    }

    /// Records the time from a frame's capture until now, for a part handed to a viewer's connection.
    package func recordLatency(since captureTime: Date, now: Date = Date()) {
        let nanoseconds = now.timeIntervalSince(captureTime) * 1e9
        frameLatency.recordNanoseconds(Int64(min(max(nanoseconds, 0), 1e15)))
    }

    /// A short, bounded name for an error's kind: an enum case's name, else the type's name.
    package static func kind(of error: any Error) -> String {
        let mirror = Mirror(reflecting: error)
        if mirror.displayStyle == .enum, let label = mirror.children.first?.label {
            return label
        }
        if mirror.displayStyle == .enum {
            // A case without a payload has no child: its name is what the error prints without a description.
            let name = String(describing: error)
            if name.allSatisfy({ $0.isLetter || $0.isNumber }), name.count <= 40 { return name }
        }
        return String(describing: type(of: error))
    }
}
