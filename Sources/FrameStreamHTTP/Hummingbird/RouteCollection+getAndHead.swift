import Hummingbird

extension RouteCollection {
    /// Adds `handler` for `GET` and `HEAD` of `path`; a `HEAD` gets the `GET` response's head and no body.
    ///
    /// Explicit, because a router generates `HEAD` routes only with its `.autoGenerateHeadEndpoints` option.
    func getAndHead(_ path: RouterPath, use handler: @escaping @Sendable (Request) async throws -> Response) {
        getAndHead(path) { request, _ in try await handler(request) }
    }

    /// Adds `handler`, which sees the request's context, for `GET` and `HEAD` of `path`.
    func getAndHead(
        _ path: RouterPath,
        use handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        get(path) { request, context in try await handler(request, context) }
        head(path) { request, context in
            let response = try await handler(request, context)
            // The GET response's head, with its length if it has one (an endless stream has none), and no body.
            return Response(
                status: response.status,
                headers: response.headers,
                body: ResponseBody { writer in try await writer.finish(nil) }
            )
        }
    }
}
