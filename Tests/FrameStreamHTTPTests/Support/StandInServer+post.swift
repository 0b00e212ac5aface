import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension StandInServer {
    /// Sends `body` with POST and returns the status and the body of the answer.
    func post(
        _ path: String,
        body: String,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 10 << 20)
        return (Int(response.status.code), Array(buffer: answer))
    }

    /// Waits until the stand-in's event log has at least `count` lines equal to `event`, and returns the log.
    func waitForEvent(_ event: String, count: Int = 1) async throws -> [String] {
        for _ in 0..<400 {
            let events = events()
            if events.filter({ $0 == event }).count >= count { return events }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StandInFailure("fewer than \(count) '\(event)' events within 20 s: \(events())")
    }
}
