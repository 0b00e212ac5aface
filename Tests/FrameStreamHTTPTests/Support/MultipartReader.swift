import Foundation

/// One part of a Motion-JPEG stream as a client sees it.
struct ReceivedPart: Equatable {
    var headers: [String: String]
    var body: [UInt8]

    var sequence: UInt64? { headers["x-frame-sequence"].flatMap(UInt64.init) }
}

/// Splits a `multipart/x-mixed-replace` body into parts, checking the framing strictly: a boundary line, headers,
/// exactly `Content-Length` bytes, CRLF, and the next boundary line.
struct MultipartReader {
    enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        var description: String {
            switch self {
            case .malformed(let reason): "malformed multipart stream: \(reason)"
            }
        }
    }

    let boundary: [UInt8]
    private var buffer: [UInt8] = []
    private var sawStart = false

    init(boundary: String = "frame") {
        self.boundary = Array("--\(boundary)\r\n".utf8)
    }

    mutating func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete part, or `nil` if more bytes are needed.
    mutating func nextPart() throws -> ReceivedPart? {
        if !sawStart {
            guard buffer.count >= boundary.count else { return nil }
            guard Array(buffer.prefix(boundary.count)) == boundary else {
                throw Failure.malformed("stream does not open with the boundary line")
            }
            buffer.removeFirst(boundary.count)
            sawStart = true
        }
        guard let headerEnd = find([13, 10, 13, 10]) else { return nil }
        let headerText = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var headers: [String: String] = [:]
        for line in headerText.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed("header line '\(line)'") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        guard let length = headers["content-length"].flatMap(Int.init) else {
            throw Failure.malformed("part without Content-Length")
        }
        let bodyStart = headerEnd + 4
        let partEnd = bodyStart + length + 2 + boundary.count
        guard buffer.count >= partEnd else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        guard Array(buffer[(bodyStart + length)..<partEnd]) == [13, 10] + boundary else {
            throw Failure.malformed("part body is not followed by CRLF and the boundary line")
        }
        buffer.removeFirst(partEnd)
        return ReceivedPart(headers: headers, body: body)
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for start in 0...(buffer.count - pattern.count) where buffer[start] == pattern[0] {
            if Array(buffer[start..<(start + pattern.count)]) == pattern { return start }
        }
        return nil
    }
}
