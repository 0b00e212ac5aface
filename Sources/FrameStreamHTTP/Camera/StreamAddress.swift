import Foundation

/// An upstream stream's address, split into what is sent and what may be shown.
///
/// The one place that knows where secrets hide in an address: the password of `http://user:password@host/…`
/// (sent as basic authentication, never as part of the URL) and query values whose names say they are
/// credentials (`?usr=admin&pwd=…`, `?token=…`, as many IP cameras take them). Every message that names the
/// stream — errors, status, logs, descriptions — uses ``redacted``, so that a secret never leaves the process.
struct StreamAddress: Sendable, Hashable {
    /// The URL to request: the address without its user and password.
    let requestURL: String
    /// The `Authorization` header for the address's user and password, if it has any.
    let authorization: String?
    /// The address as messages show it: `http://user:***@host/path?pwd=***`.
    let redacted: String
    /// The upstream server's `/healthz`: the address's scheme, host and port, without credentials.
    let healthURL: String
    /// Texts that must not appear in a message: the address's credentials, in the forms they could take.
    private let secrets: [String]

    /// Splits an address.
    /// - Throws: ``HTTPCameraError/invalidURL(_:)`` (with the address redacted) for one that is not `http` or
    ///   `https` with a host.
    init(_ address: String) throws(HTTPCameraError) {
        let redacted = Self.redact(address)
        guard var components = URLComponents(string: address),
            let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = components.host, !host.isEmpty
        else { throw HTTPCameraError.invalidURL(redacted) }
        var secrets: [String] = []
        if let user = components.user {
            let password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? ""
            let credentials = "\(user.removingPercentEncoding ?? user):\(password)"
            let encoded = Data(credentials.utf8).base64EncodedString()
            authorization = "Basic " + encoded
            secrets = [encoded, components.percentEncodedPassword ?? "", password].filter { $0.count >= 4 }
            components.user = nil
            components.password = nil
        } else {
            authorization = nil
        }
        for item in components.queryItems ?? [] where Self.isCredential(item.name) {
            if let value = item.value, value.count >= 4 { secrets.append(value) }
        }
        self.requestURL = components.string ?? address
        var health = URLComponents()
        health.scheme = scheme
        health.percentEncodedHost = components.percentEncodedHost
        health.port = components.port
        health.path = "/healthz"
        self.healthURL = health.string ?? "\(scheme)://\(host)/healthz"
        self.redacted = redacted
        self.secrets = secrets
    }

    /// `text` with every credential of this address replaced by `***`: for text that comes from elsewhere (an
    /// HTTP client's error) and might quote the address.
    func scrub(_ text: String) -> String {
        secrets.reduce(text) { text, secret in text.replacingOccurrences(of: secret, with: "***") }
    }

    /// Any address, parseable or not, with its password and credential query values replaced by `***`.
    ///
    /// Works on the text itself, so that even an address that is not a valid URL (and is therefore quoted in an
    /// ``HTTPCameraError/invalidURL(_:)``) is shown without its secret.
    static func redact(_ address: String) -> String {
        var text = Substring(address)
        var result = ""
        if let schemeEnd = text.range(of: "://") {
            result += text[..<schemeEnd.upperBound]
            text = text[schemeEnd.upperBound...]
            let authorityEnd = text.firstIndex { "/?#".contains($0) } ?? text.endIndex
            let authority = text[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    result += userInfo[..<colon] + ":***"
                } else {
                    result += userInfo
                }
                result += authority[at...]
            } else {
                result += authority
            }
            text = text[authorityEnd...]
        }
        guard let queryStart = text.firstIndex(of: "?") else { return result + text }
        result += text[...queryStart]
        let rest = text[text.index(after: queryStart)...]
        let fragmentStart = rest.firstIndex(of: "#") ?? rest.endIndex
        let items = rest[..<fragmentStart].split(separator: "&", omittingEmptySubsequences: false).map { item in
            guard let equals = item.firstIndex(of: "="), isCredential(String(item[..<equals])) else {
                return String(item)
            }
            return String(item[...equals]) + "***"
        }
        return result + items.joined(separator: "&") + rest[fragmentStart...]
    }

    /// Whether a query item's name says that its value is a credential.
    private static func isCredential(_ name: String) -> Bool {
        let name = (name.removingPercentEncoding ?? name).lowercased()
        return credentialNames.contains(name) || name.hasSuffix("password") || name.hasSuffix("token")
            || name.hasSuffix("secret")
    }

    private static let credentialNames: Set<String> = [
        "pass", "passwd", "pwd", "pw", "key", "apikey", "api_key", "auth", "sig", "signature", "credentials",
    ]
}
