import Crypto
import Foundation
import FrameStreamHTTP
import Testing

struct StreamLinkSignerTests {
    let signer = StreamLinkSigner(key: SymmetricKey(size: .bits256))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func verify(
        _ path: String,
        _ query: String,
        users: [String] = ["alice", "bob"],
        at time: Date? = nil
    )
        -> StreamLinkSigner.Verdict
    {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            values[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return signer.verify(
            path: path,
            expires: values["exp"],
            signature: values["sig"] ?? "",
            users: users,
            now: time ?? now
        )
    }

    @Test func aLinkIsValidForItsPathAndUserUntilItExpires() {
        let query = signer.query(path: "/cameras/front/stream", expires: 1_800_000_060, user: "bob")
        #expect(verify("/cameras/front/stream", query) == .valid(user: "bob"))
        #expect(verify("/cameras/front/stream", query, at: now.addingTimeInterval(59)) == .valid(user: "bob"))
        #expect(verify("/cameras/front/stream", query, at: now.addingTimeInterval(60)) == .expired(user: "bob"))
        #expect(verify("/cameras/front/snapshot.jpg", query) == .invalid)
        #expect(verify("/cameras/front/stream", query, users: ["alice"]) == .invalid)
        #expect(verify("/cameras/front/stream", query.replacingOccurrences(of: "060", with: "061")) == .invalid)
        let other = StreamLinkSigner(key: SymmetricKey(size: .bits256))
        #expect(
            other.verify(
                path: "/cameras/front/stream",
                expires: "1800000060",
                signature: signer.signature(path: "/cameras/front/stream", expires: 1_800_000_060, user: "bob"),
                users: ["bob"],
                now: now
            ) == .invalid
        )
    }

    @Test func signaturesAreURLSafe() {
        for index in 0..<50 {
            let signature = signer.signature(path: "/cameras/c\(index)/stream", expires: 1_800_000_000, user: "u")
            #expect(signature.count == 43)
            #expect(signature.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
    }

    @Test(arguments: ["", "x", "-1", "0", "1e9", "9999999999999", " 1800000060"])
    func malformedExpiriesAreInvalid(_ expires: String) {
        let signature = signer.signature(path: "/p", expires: 1_800_000_060, user: "bob")
        #expect(signer.verify(path: "/p", expires: expires, signature: signature, users: ["bob"], now: now) == .invalid)
    }
}
