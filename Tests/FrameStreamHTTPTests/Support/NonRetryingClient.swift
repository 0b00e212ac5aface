import AsyncHTTPClient

/// Runs `body` with an HTTP client of the test's own that reports a refused connection at once (AsyncHTTPClient
/// retries by default until its connect timeout), and shuts the client down afterwards.
func withNonRetryingClient<Result: Sendable>(
    _ body: (HTTPClient) async throws -> Result
) async throws -> Result {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
