import Logging
import ServiceLifecycle
import UnixSignals

/// Handles SIGHUP (`systemctl reload`) until a graceful shutdown: reads the TLS certificate again, or, on a server
/// without TLS, says that there is nothing to reload. Without it, SIGHUP would end the process.
struct HangupHandler: Service {
    let certificates: CertificateReloader?
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            if let certificates {
                certificates.reload()
            } else {
                logger.notice("SIGHUP: nothing to reload (no TLS certificate; users and cameras take a restart)")
            }
        }
    }
}
