import NIOCore

/// Reads one viewer's response: the HTTP head, the chunked transfer encoding, and the multipart parts inside it,
/// without copying the JPEGs. It reports each part's `X-Frame-Sequence` and `X-Timestamp` when the part's last byte
/// has arrived.
struct StreamParser {
    struct Part {
        var sequence: UInt64
        var timestamp: Double
    }

    enum Failure: Error, CustomStringConvertible {
        case badStatus(String)
        case malformed(String)

        var description: String {
            switch self {
            case .badStatus(let line): "server answered: \(line)"
            case .malformed(let what): "malformed stream: \(what)"
            }
        }
    }

    private enum HTTPState {
        case head
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd(remaining: Int)
    }

    private enum PartState {
        case headers
        case body(remaining: Int)
    }

    private var http = HTTPState.head
    private var part = PartState.headers
    private var pending: [UInt8] = []
    private var partHeaders: [UInt8] = []
    private var current = Part(sequence: 0, timestamp: 0)

    /// Feeds received bytes; calls `onPart` for each part completed by them.
    mutating func feed(_ buffer: ByteBuffer, onPart: (Part) -> Void) throws {
        var view = buffer.readableBytesView[...]
        while !view.isEmpty {
            switch http {
            case .head:
                pending.append(contentsOf: view)
                view = view[view.endIndex...]
                guard let end = Self.find([13, 10, 13, 10], in: pending) else { return }
                let head = String(decoding: pending[..<end], as: UTF8.self)
                guard head.hasPrefix("HTTP/1.1 200") else {
                    throw Failure.badStatus(String(head.prefix { $0 != "\r" }))
                }
                guard head.lowercased().contains("transfer-encoding: chunked") else {
                    throw Failure.malformed("expected a chunked body")
                }
                let rest = Array(pending[(end + 4)...])
                pending = []
                http = .chunkSize
                if !rest.isEmpty { try feed(ByteBuffer(bytes: rest), onPart: onPart) }
                return
            case .chunkSize:
                let byte = view.first!
                view = view.dropFirst()
                if byte == 10 {
                    let line = String(decoding: pending.filter { $0 != 13 }, as: UTF8.self)
                    pending = []
                    guard let size = Int(line, radix: 16) else { throw Failure.malformed("chunk size '\(line)'") }
                    guard size > 0 else { throw Failure.malformed("the stream ended") }
                    http = .chunkData(remaining: size)
                } else {
                    pending.append(byte)
                }
            case .chunkData(let remaining):
                let take = min(remaining, view.count)
                try feedBody(view.prefix(take), onPart: onPart)
                view = view.dropFirst(take)
                http = remaining == take ? .chunkEnd(remaining: 2) : .chunkData(remaining: remaining - take)
            case .chunkEnd(let remaining):
                view = view.dropFirst()
                http = remaining == 1 ? .chunkSize : .chunkEnd(remaining: remaining - 1)
            }
        }
    }

    private mutating func feedBody(_ bytes: ByteBufferView.SubSequence, onPart: (Part) -> Void) throws {
        var bytes = bytes
        while !bytes.isEmpty {
            switch part {
            case .headers:
                let byte = bytes.first!
                bytes = bytes.dropFirst()
                partHeaders.append(byte)
                guard partHeaders.count >= 4, partHeaders.suffix(4).elementsEqual([13, 10, 13, 10]) else {
                    guard partHeaders.count < 4096 else { throw Failure.malformed("part headers too long") }
                    continue
                }
                var length = 0
                for line in String(decoding: partHeaders, as: UTF8.self).split(separator: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let value = line[line.index(after: colon)...].drop { $0 == " " }
                    switch line[..<colon].lowercased() {
                    case "content-length": length = Int(value) ?? 0
                    case "x-frame-sequence": current.sequence = UInt64(value) ?? 0
                    case "x-timestamp": current.timestamp = Double(value) ?? 0
                    default: break
                    }
                }
                partHeaders.removeAll(keepingCapacity: true)
                guard length > 0 else { continue }  // the boundary line before the first part
                // The JPEG, then "\r\n--frame\r\n" before the next part's headers.
                part = .body(remaining: length)
            case .body(let remaining):
                let take = min(remaining, bytes.count)
                bytes = bytes.dropFirst(take)
                if take == remaining {
                    onPart(current)
                    part = .headers
                } else {
                    part = .body(remaining: remaining - take)
                }
            }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if bytes[start..<(start + pattern.count)].elementsEqual(pattern) { return start }
        }
        return nil
    }
}
