import Crypto
import FrameStream
import FrameStreamHTTP
import Logging
import NIOSSL

import struct Foundation.Data
import class Foundation.FileManager
import struct Foundation.URL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parts of the server's configuration about who may watch: users from the configuration and the command line,
/// the key of signed links, and the TLS certificate.
enum ServerAccess {
    /// The users (with each camera's list) from the configuration.
    static func users(_ server: ServerConfiguration) -> CameraUsers {
        var camerasUsers: [String: Set<String>] = [:]
        for camera in server.cameras {
            if let users = camera.users { camerasUsers[camera.name] = Set(users) }
        }
        return CameraUsers(passwordHashes: server.users, camerasUsers: camerasUsers)
    }

    /// The users in a users file: one `NAME:HASH` per line (as `htpasswd -B` writes), `#` for comments.
    static func usersFile(_ path: String) throws(StartupError) -> [String: String] {
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw StartupError("cannot read the users file \(path): \(error.localizedDescription)")
        }
        var users: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            guard let user = userEntry(line) else {
                throw StartupError("users file \(path): line \(number + 1) is not NAME:HASH")
            }
            users[user.name] = user.hash
        }
        return users
    }

    /// `NAME:HASH` split at its first colon.
    static func userEntry(_ text: String) -> (name: String, hash: String)? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = String(text[..<colon])
        let hash = String(text[text.index(after: colon)...])
        return name.isEmpty || hash.isEmpty ? nil : (name, hash)
    }

    /// The key of signed links: the configured text, the key file (made if missing), or a new key that lasts
    /// until the server stops.
    static func signingKey(_ server: ServerConfiguration, logger: Logger) throws(StartupError) -> SymmetricKey {
        let text: String
        if let configured = server.signingKey {
            text = configured
        } else if let path = server.signingKeyFile {
            if let data = FileManager.default.contents(atPath: path) {
                text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard text.utf8.count >= 16 else {
                    throw StartupError(
                        "the signing key file \(path) holds less than 16 characters: delete it to make a new key"
                    )
                }
            } else {
                text = try makeKeyFile(path, logger: logger)
            }
        } else {
            if !server.users.isEmpty {
                logger.notice(
                    "signed links work until the server stops: set signingKeyFile to keep them across restarts"
                )
            }
            return StreamLinkSigner.generateKey()
        }
        // The text's bytes are the key, whether configured, read or just made.
        return SymmetricKey(data: Data(text.utf8))
    }

    /// Writes 32 new random bytes, in base64, to `path`, readable by this user only, and returns the text.
    private static func makeKeyFile(_ path: String, logger: Logger) throws(StartupError) -> String {
        let text = StreamLinkSigner.generateKey().withUnsafeBytes { Data($0) }.base64EncodedString()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StartupError("cannot create the signing key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let line = text + "\n"
        let written = line.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count - 1) }
        guard written == line.utf8.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw StartupError("cannot write the signing key file \(path): \(String(cString: strerror(errno)))")
        }
        logger.notice("made a new signing key for links in \(path)")
        return text
    }

    /// The TLS configuration of the certificate and key files, checked: they can be read and belong together.
    static func tlsConfiguration(_ files: ServerConfiguration.TLSFiles) throws(StartupError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw StartupError("cannot read the TLS certificate \(files.certificate): \(describe(error))")
        }
        guard !chain.isEmpty else {
            throw StartupError("the TLS certificate file \(files.certificate) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw StartupError("cannot read the TLS private key \(files.key): \(describe(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw StartupError(
                "the TLS private key \(files.key) does not belong to the certificate \(files.certificate): give the "
                    + "key the certificate was made with"
            )
        }
        return configuration
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError, case .failedToLoadCertificate = error {
            return "no such file, or not a PEM certificate"
        }
        if let error = error as? NIOSSLError, case .failedToLoadPrivateKey = error {
            return "no such file, or not a PEM private key"
        }
        if let error = error as? BoringSSLError { return "\(error)" }
        return "\(error)"
    }

    /// Whether `host` is reachable from this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let isIPv4Loopback =
            octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return host == "localhost" || isIPv4Loopback || host == "::1" || host == "[::1]"
    }
}
