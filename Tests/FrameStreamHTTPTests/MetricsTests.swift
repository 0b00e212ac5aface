import CoreMetrics
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import MetricsTestKit
import Testing

/// The camera's metrics under a scripted scenario: viewers come and go, one is refused, a slow one skips frames,
/// the camera fails and recovers, and it stops when everyone has gone.
@Suite struct MetricsTests {
    private struct Unplugged: Error {}

    private enum CameraFailure: Error {
        case unplugged(device: String)
    }

    @Test func metricsFollowViewersSkipsFailuresAndStops() async throws {
        let metrics = TestMetrics()
        let camera = [("camera", "manual")]
        @Sendable func total(_ label: String, _ extra: [(String, String)] = []) -> Int64 {
            metrics.counterTotal(label: label, dimensions: camera + extra)
        }
        @Sendable func viewers() throws -> Double? {
            try metrics.expectMeter("framestream_viewers", camera + [("kind", "stream")]).lastValue
        }
        try await LiveServer.run(metrics: metrics, endpoints: .init(maxClients: 2)) { server in
            #expect(total("framestream_camera_starts_total") == 0)
            let reading = try RawConnection(port: server.port)
            reading.send("GET /video_feed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _ = try await reading.readHead()
            let stalled = try RawConnection.viewer(port: server.port)
            await server.camera.waitForStarts(1)
            try await eventually { try viewers() == 2 }
            #expect(total("framestream_camera_starts_total") == 1)

            // A third viewer is over the limit.
            #expect(try await server.get("/video_feed").status == 503)
            #expect(total("framestream_viewers_refused_total", [("status", "503")]) == 1)

            server.camera.send(testImage(1))
            #expect(try await reading.nextPart().sequence == 1)
            _ = try await stalled.readHead()
            #expect(try await stalled.nextPart().sequence == 1)
            try #require(try metrics.expectMeter("framestream_camera_streaming", camera).lastValue == 1)
            // 30 frames of 45 KB while the stalled viewer reads nothing: the reading one gets each, the stalled one
            // a few at most, and the rest count as skipped.
            for marker in UInt8(2)...31 {
                server.camera.send(testImage(marker))
                #expect(try await reading.nextPart().sequence == UInt64(marker))
            }
            #expect(total("framestream_frames_captured_total") == 31)
            let sent = total("framestream_frames_sent_total")
            let skipped = total("framestream_frames_skipped_total")
            #expect(sent >= 32 && sent <= 38, "sent \(sent)")
            #expect(skipped >= 20, "skipped \(skipped)")
            // Every frame sent or skipped: the reading viewer's 31, and the stalled viewer's sent and skipped
            // frames, at most one of them still waiting.
            #expect(sent + skipped >= 61 && sent + skipped <= 62, "sent \(sent) + skipped \(skipped)")
            #expect(total("framestream_sent_bytes_total") >= sent * 45_003)
            let latency = try metrics.expectTimer("framestream_frame_latency_seconds", camera)
            #expect(Int64(latency.values.count) == sent)
            #expect(latency.values.allSatisfy { $0 >= 0 })
            let sizes = try metrics.expectRecorder("framestream_frame_size_bytes", camera)
            #expect(sizes.values.count == 31 && sizes.values.allSatisfy { $0 == 45_005 })

            // The camera fails, and is restarted after the backoff.
            server.camera.fail(CameraFailure.unplugged(device: "/dev/video0"))
            await server.clock.waitForSleepers(1)  // the restart backoff
            #expect(total("framestream_camera_failures_total", [("kind", "unplugged")]) == 1)
            #expect(try metrics.expectMeter("framestream_camera_streaming", camera).lastValue == 0)
            #expect(total("framestream_camera_restarts_total") == 0)
            server.clock.advance(by: .seconds(30))
            await server.camera.waitForStarts(2)
            #expect(total("framestream_camera_restarts_total") == 1)
            server.camera.send(testImage(32))
            #expect(try await reading.nextPart().sequence == 32)
            #expect(try metrics.expectMeter("framestream_camera_streaming", camera).lastValue == 1)

            // Everyone leaves: no viewers, and after the idle timeout the camera stops.
            stalled.close()
            try await eventually { try viewers() == 1 }
            reading.close()
            try await eventually { try viewers() == 0 }
            try await eventually { server.broadcaster.status.subscribers == 0 }
            await server.clock.waitForSleepers(1)  // the idle timer
            #expect(total("framestream_camera_stops_total") == 0)
            server.clock.advance(by: .seconds(11))
            await server.camera.waitForStops(2)
            try await eventually { total("framestream_camera_stops_total") == 1 }
            #expect(try metrics.expectMeter("framestream_camera_streaming", camera).lastValue == 0)
        }
    }

    @Test func aFailureIsCountedByItsKind() {
        #expect(CameraMetrics.kind(of: CameraFailure.unplugged(device: "/dev/video0")) == "unplugged")
        #expect(CameraMetrics.kind(of: Unplugged()) == "Unplugged")
    }
}

/// Waits until `condition` holds, polling: for metrics that another task updates.
func eventually(
    _ condition: () throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for _ in 0..<500 {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("the condition did not hold within 5 s", sourceLocation: sourceLocation)
}
