import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// `ExampleServer --check`: asks the running server that the same flags (and `--config` file) describe for
/// `/healthz`, and exits 0 if it answers `200`, for container health checks (`HEALTHCHECK CMD ExampleServer --check
/// --config /etc/framestream/cameras.yaml`) and scripts.
enum HealthCheck {
    /// How long the server has to answer.
    static let timeout: TimeAmount = .seconds(5)

    /// The server's `/healthz`: its host (a wildcard address asked on 127.0.0.1), port and scheme.
    static func address(of server: ServerConfiguration) -> String {
        let host = ["0.0.0.0", "::", "[::]", "*"].contains(server.host) ? "127.0.0.1" : server.host
        let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(server.tls == nil ? "http" : "https")://\(shown):\(server.port)/healthz"
    }

    /// Returns if `address` answers `200`.
    /// - Throws: ``StartupError`` saying what it answered, or why it did not.
    static func check(_ address: String) async throws {
        // An HTTPS server's certificate is not checked: this asks the machine's own server, usually by an address
        // its certificate does not name, and only for "ok".
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let outcome: Result<HTTPResponseStatus, any Error>
        do {
            let response = try await client.execute(HTTPClientRequest(url: address), timeout: timeout)
            outcome = .success(response.status)
        } catch {
            outcome = .failure(error)
        }
        try await client.shutdown()
        switch outcome {
        case .success(.ok):
            return
        case .success(let status):
            throw StartupError("\(address) answered \(status.code) \(status.reasonPhrase)")
        case .failure(let error):
            throw StartupError("\(address) did not answer: \(error)")
        }
    }
}
