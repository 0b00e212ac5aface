import AsyncHTTPClient
import NIOCore

extension HTTPCamera {
    /// Checks that the upstream's server answers HTTP, without opening its stream (which would start its camera):
    /// asks for `/healthz` on the stream's host and port, without credentials, and takes any answer — `200` from a
    /// FrameStream server, `404` or `401` from a camera that has no such page — as reachable.
    ///
    /// For a relay's health check while it has no viewers, and so no connection to tell how its origin is.
    /// - Parameter timeout: how long the server has to answer.
    /// - Throws: ``HTTPCameraError/connectionFailed(_:reason:)`` when it cannot be reached or does not answer in
    ///   time.
    public func checkReachable(timeout: Duration = .seconds(2)) async throws(HTTPCameraError) {
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: address.healthURL),
                timeout: TimeAmount(timeout)
            )
            // Only the status matters; the small body is read to free the connection for reuse.
            _ = try? await response.body.collect(upTo: 4096)
        } catch {
            throw HTTPCameraError.connectionFailed(address.redacted, reason: address.scrub("\(error)"))
        }
    }
}
