import HTTPTypes
import Hummingbird
import Logging

/// One line at info level for each request once its response is written: method, path, status, bytes and
/// duration, in the manner of an access log. Streams are left out here: the stream routes log their own line when
/// a stream ends, with the frames it sent and skipped.
///
/// Query values are not logged: later features put signed tokens there.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let logger = context.logger
        let line = "\(request.method) \(request.uri.path)"
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            Self.log(logger, line, status: status, bytes: nil, since: start)
            throw error
        }
        if response.headers[.contentType]?.hasPrefix("multipart/x-mixed-replace") == true {
            return response
        }
        let status = response.status.code
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(
                CountingWriter(base: writer) { bytes in
                    Self.log(logger, line, status: status, bytes: bytes, since: start)
                }
            )
        }
        return response
    }

    private static func log(
        _ logger: Logger,
        _ line: String,
        status: Int,
        bytes: Int?,
        since start: ContinuousClock.Instant
    ) {
        let elapsed = (ContinuousClock.now - start).components
        let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) * 1e-15
        logger.info(
            "\(line) \(status)",
            metadata: [
                "bytes": "\(bytes.map(String.init) ?? "-")",
                "ms": "\((milliseconds * 10).rounded() / 10)",
            ]
        )
    }
}

/// Passes a response body on and counts its bytes, reporting the count when the body is finished.
private struct CountingWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let finished: (Int) -> Void
    var bytes = 0

    init(base: any ResponseBodyWriter, finished: @escaping (Int) -> Void) {
        self.base = base
        self.finished = finished
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        bytes += buffer.readableBytes
        try await base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
        finished(bytes)
    }
}
