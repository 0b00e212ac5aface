import Foundation
import FrameStream
import NIOCore

/// Turns recorded frames into the bytes of an export, a frame at a time, so that an export of hours streams out
/// without being held in memory.
struct FrameExporter {
    private enum Writer {
        case mkv(MatroskaWriter)
        case mjpeg(MJPEGPartEncoder)
        case zip(ZIPWriter)
    }

    private var writer: Writer
    private let startMicros: Int64
    private var count = 0

    init(format: ExportFormat, first: RecordedFrame, last: RecordedFrame, encoder: MJPEGPartEncoder) {
        startMicros = first.captureMicros
        switch format {
        case .mkv:
            let size = MatroskaWriter.pixelSize(ofJPEG: first.jpeg) ?? (width: 640, height: 480)
            writer = .mkv(
                MatroskaWriter(
                    width: size.width,
                    height: size.height,
                    duration: .microseconds(last.captureMicros - first.captureMicros),
                    startDate: first.captureTime
                )
            )
        case .mjpeg:
            writer = .mjpeg(encoder)
        case .zip:
            writer = .zip(ZIPWriter())
        }
    }

    mutating func start() -> [UInt8] {
        switch writer {
        case .mkv(let mkv): mkv.header()
        case .mjpeg(let encoder): Array(encoder.streamStart().readableBytesView)
        case .zip: []
        }
    }

    mutating func add(_ frame: RecordedFrame) -> [UInt8] {
        count += 1
        switch writer {
        case .mkv(var mkv):
            defer { writer = .mkv(mkv) }
            return mkv.frame(frame.jpeg, at: frame.captureMicros - startMicros)
        case .mjpeg(let encoder):
            return Array(encoder.part(for: frame).readableBytesView)
        case .zip(var zip):
            defer { writer = .zip(zip) }
            let name =
                "\(ExportFormat.compact(frame.captureMicros).dropLast())."
                + "\(String(frame.captureMicros % 1_000_000 + 1_000_000).dropFirst())Z-\(count).jpg"
            return zip.entry(named: name, bytes: frame.jpeg, modified: frame.captureTime)
        }
    }

    mutating func finish() -> [UInt8] {
        switch writer {
        case .mkv(var mkv):
            defer { writer = .mkv(mkv) }
            return mkv.finish()
        case .mjpeg: return []
        case .zip(var zip):
            defer { writer = .zip(zip) }
            return zip.finish()
        }
    }
}
