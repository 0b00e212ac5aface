import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The server's TLS certificate and key, read again from their files on ``reload()`` (on SIGHUP, by
/// ``HangupHandler``), so that a renewed certificate (from certbot, say) is served without a restart. Each new
/// connection's handshake gets the current pair; connections already open keep the one they started with. A pair
/// that cannot be read, or does not belong together, is logged and the previous one is kept.
final class CertificateReloader: Sendable {
    private let files: ServerConfiguration.TLSFiles
    private let logger: Logger
    private let current: CurrentPair
    /// The TLS configuration of the server, whose handshakes take the current pair.
    let tlsConfiguration: TLSConfiguration

    init(files: ServerConfiguration.TLSFiles, logger: Logger) throws(StartupError) {
        self.files = files
        self.logger = logger
        var configuration = try ServerAccess.tlsConfiguration(files)
        let current = CurrentPair()
        self.current = current
        configuration.sslContextCallback = { _, promise in
            // Until a reload, the configuration's own pair: nothing to change in the handshake.
            guard let (chain, key) = current.pair.withLock({ $0 }) else { return promise.succeed(.noChanges) }
            var override = NIOSSLContextConfigurationOverride()
            (override.certificateChain, override.privateKey) = (chain, key)
            promise.succeed(override)
        }
        tlsConfiguration = configuration
    }

    /// Reads the files again and, if they are good, serves them from the next handshake on.
    func reload() {
        do {
            let configuration = try ServerAccess.tlsConfiguration(files)
            guard let key = configuration.privateKey else { return }
            current.pair.withLock { $0 = (configuration.certificateChain, key) }
            logger.notice("reloaded the TLS certificate \(files.certificate) and key \(files.key)")
        } catch {
            logger.error("kept the previous TLS certificate: \(error)")
        }
    }
}

/// The certificate chain and key that the next handshake gets, once a reload has read them; `nil` before.
private final class CurrentPair: Sendable {
    let pair = Mutex<(chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource)?>(nil)
}
