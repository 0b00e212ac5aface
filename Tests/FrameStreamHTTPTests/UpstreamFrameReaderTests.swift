import Foundation
import FrameStream
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import FrameStreamHTTP

/// Reading another FrameStream's part headers: repeats dropped, timestamps kept, hostile headers harmless.
@Suite(.timeLimit(.minutes(1)))
struct UpstreamFrameReaderTests {
    static let fixtures = HTTPCameraTests.fixtures

    /// A part as FrameStream sends it, with extra header lines.
    static func part(_ jpeg: [UInt8], headers: [String]) -> [UInt8] {
        var text = "--frame\r\nContent-Type: image/jpeg\r\n"
        for header in headers { text += header + "\r\n" }
        return Array((text + "\r\n").utf8) + jpeg + Array("\r\n".utf8)
    }

    static func timestamp(_ date: Date) -> String {
        String(format: "%.6f", date.timeIntervalSince1970)
    }

    @Test func placeholdersAreNotFramesAndTheUpstreamsNumbersAreKept() {
        var body = Self.part(Self.fixtures[0], headers: ["X-Frame-Sequence: 41"])
        // What a FrameStream upstream sends while its camera has no picture.
        body += Self.part(
            Self.fixtures[1],
            headers: ["X-Timestamp: \(Self.timestamp(Date()))", "X-Placeholder: retrying"]
        )
        body += Self.part(Self.fixtures[2], headers: ["X-Frame-Sequence: 42"])
        var reader = UpstreamFrameReader(maximumFrameBytes: 1 << 20)
        reader.append(body)
        let first = reader.nextFrame(receivedAt: Date())
        #expect(first?.bytes == Self.fixtures[0])
        #expect(first?.sourceSequence == 41)
        let second = reader.nextFrame(receivedAt: Date())
        #expect(second?.bytes == Self.fixtures[2])
        #expect(second?.sourceSequence == 42)
        #expect(reader.placeholders == 1)
        #expect(reader.nextFrame(receivedAt: Date()) == nil)
    }

    @Test func dropsPartsThatAreNotNewerAndCarriesTheUpstreamTimestamp() async throws {
        let captured = Date().addingTimeInterval(-2)
        let later = Date().addingTimeInterval(-1)
        var body = Self.part(
            Self.fixtures[0],
            headers: ["X-Timestamp: \(Self.timestamp(captured))", "X-Frame-Sequence: 5"]
        )
        // The heartbeat re-send of frame 5, and an older frame.
        body += Self.part(
            Self.fixtures[0],
            headers: ["X-Timestamp: \(Self.timestamp(captured))", "X-Frame-Sequence: 5"]
        )
        body += Self.part(Self.fixtures[1], headers: ["X-Frame-Sequence: 4"])
        body += Self.part(Self.fixtures[2], headers: ["X-Frame-Sequence: 6", "X-Timestamp: \(Self.timestamp(later))"])
        let stream = body
        try await UpstreamServer.run { router in
            router.get("/video_feed") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: "multipart/x-mixed-replace; boundary=frame"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: stream))
                )
            }
        } _: { baseURL in
            let camera = try HTTPCamera(configuration: .init(url: baseURL + "/video_feed"))
            var frames = camera.frames().makeAsyncIterator()
            let first = try #require(try await frames.next())
            #expect(first.bytes == Self.fixtures[0])
            #expect(abs(first.captureTime.timeIntervalSince(captured)) < 0.001)
            let second = try #require(try await frames.next())
            #expect(second.bytes == Self.fixtures[2])
            #expect(abs(second.captureTime.timeIntervalSince(later)) < 0.001)
            await #expect(throws: HTTPCameraError.streamEnded(baseURL + "/video_feed")) { try await frames.next() }
        }
    }

    @Test func hostileHeaderValuesAreIgnoredNeverTrusted() {
        let hostile = [
            "X-Frame-Sequence: 99999999999999999999999999999", "X-Frame-Sequence: -5", "X-Frame-Sequence: abc",
            "X-Frame-Sequence: 18446744073709551616", "X-Frame-Sequence:", "X-Timestamp: 1e400", "X-Timestamp: nan",
            "X-Timestamp: -1", "X-Timestamp: \(String(repeating: "9", count: 400))", "X-Timestamp: 1.2.3",
            "Content-Length: \(String(repeating: "9", count: 10_000))", "Content-Length: -1",
            "X-Timestamp: 0.000001",
        ]
        var reader = UpstreamFrameReader(maximumFrameBytes: 1 << 20)
        for header in hostile {
            reader.append(Self.part(Self.fixtures[0], headers: [header]))
        }
        // One frame per part, each captured when it arrived: no sequence or timestamp was believed.
        let receipt = Date()
        for header in hostile {
            let frame = reader.nextFrame(receivedAt: receipt)
            #expect(frame?.bytes == Self.fixtures[0], "\(header)")
            #expect(frame?.captureTime == receipt, "\(header)")
        }
        #expect(reader.nextFrame(receivedAt: receipt) == nil)
        #expect(reader.lastSequence == nil)
        // The largest sequence there is still reads, and nothing after it is newer.
        reader.append(Self.part(Self.fixtures[1], headers: ["X-Frame-Sequence: \(UInt64.max)"]))
        reader.append(Self.part(Self.fixtures[2], headers: ["X-Frame-Sequence: 1"]))
        #expect(reader.nextFrame(receivedAt: receipt)?.bytes == Self.fixtures[1])
        #expect(reader.nextFrame(receivedAt: receipt) == nil)
        #expect(reader.lastRepeatedSequence == 1)
    }

    @Test func endlessHeaderBytesOrImageBytesDoNotGrowMemory() {
        var reader = UpstreamFrameReader(maximumFrameBytes: 200_000)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 65_536)
        reader.append(Array("--frame\r\nX-Junk: ".utf8))
        for _ in 0..<300 {  // ~20 MB of one header line
            reader.append(chunk)
            #expect(reader.nextFrame(receivedAt: Date()) == nil)
            #expect(reader.bufferedBytes <= PartHeaders.maximumBytes + chunk.count)
        }
        // An image that never ends: entropy-coded data without an end marker.
        reader.append(Self.part(Array(Self.fixtures[0].prefix(1000)), headers: []))
        for _ in 0..<300 {
            reader.append(chunk)
            #expect(reader.nextFrame(receivedAt: Date()) == nil)
            #expect(reader.bufferedBytes <= 200_000 + 2 * chunk.count + PartHeaders.maximumBytes)
        }
        // And then a good part reads as ever.
        reader.append(Self.part(Self.fixtures[1], headers: ["X-Frame-Sequence: 3"]))
        #expect(reader.nextFrame(receivedAt: Date())?.bytes == Self.fixtures[1])
    }

    @Test func aTruncatedImageIsDroppedAndTheNextPartKeepsItsOwnHeaders() {
        var reader = UpstreamFrameReader(maximumFrameBytes: 1 << 20)
        let truncated = Array(Self.fixtures[0].prefix(Self.fixtures[0].count / 2))
        reader.append(Self.part(truncated, headers: ["X-Frame-Sequence: 9"]))
        reader.append(Self.part(Self.fixtures[1], headers: ["X-Frame-Sequence: 8"]))
        // Frame 8 was not dropped as older than 9: frame 9 never was a frame.
        #expect(reader.nextFrame(receivedAt: Date())?.bytes == Self.fixtures[1])
        #expect(reader.lastSequence == 8)
    }

    @Test func streamsWithoutPartHeadersOrBoundariesStillRead() {
        var reader = UpstreamFrameReader(maximumFrameBytes: 1 << 20)
        // Bare concatenated JPEGs, cut into odd pieces.
        let stream = Self.fixtures[0] + Self.fixtures[1] + Self.fixtures[1] + Self.fixtures[2]
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + 777)
            reader.append(stream[offset..<end])
            while let frame = reader.nextFrame(receivedAt: Date()) { frames.append(frame.bytes) }
            offset = end
        }
        // Without sequences, every image is a new frame.
        #expect(frames == [Self.fixtures[0], Self.fixtures[1], Self.fixtures[1], Self.fixtures[2]])
    }
}
