import AsyncHTTPClient
import Crypto
import Foundation
import FrameStream
import FrameStreamHTTP
import FrameStreamTesting
import Hummingbird
import HummingbirdBcrypt
import InMemoryLogging
import Logging
import NIOHTTP1
import Synchronization
import Testing

/// Users, per-camera access, signed links, the lockout and the per-address stream limit, through real requests.
@Suite(.timeLimit(.minutes(1)))
struct AccessControlTests {
    static let alicePassword = "alice's password"
    static let bobPassword = "bob:has a colon"
    // Cost 4, the lowest, keeps the tests fast; the server checks any cost the same way.
    static let aliceHash = Bcrypt.hash(alicePassword, cost: 4)
    static let bobHash = Bcrypt.hash(bobPassword, cost: 4)
    static let alice = basic("alice", alicePassword)
    static let bob = basic("bob", bobPassword)

    static func basic(_ user: String, _ password: String) -> [(String, String)] {
        [("authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
    }

    /// A test's server: two cameras (`front`, only for alice, and `back`, for every user) behind the access rules.
    struct Server {
        let live: LiveServer
        let access: CameraAccess
        let wallClock: WallClock
        let uptime: ManualClock

        /// Sends a request while the cameras send frames, so that snapshots find one.
        func get(
            _ path: String,
            _ headers: [(String, String)] = []
        ) async throws -> (
            status: Int, headers: [String: String], body: String
        ) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    while !Task.isCancelled {
                        for camera in live.cameras { camera.send(testImage(1, size: 1000)) }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                defer { tasks.cancelAll() }
                let response = try await live.get(path, headers: headers)
                return (response.status, response.headers, String(decoding: response.body, as: UTF8.self))
            }
        }

        /// Asks for the links of a camera as a user.
        func links(_ camera: String, _ headers: [(String, String)], expires: Int = 3600) async throws -> StreamLinks {
            let response = try await live.get("/cameras/\(camera)/link?expires=\(expires)", headers: headers)
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            return try JSONDecoder().decode(StreamLinks.self, from: Data(response.body))
        }
    }

    static func run(
        users: CameraUsers = CameraUsers(
            passwordHashes: ["alice": aliceHash, "bob": bobHash],
            camerasUsers: ["front": ["alice"]]
        ),
        signingKey: SymmetricKey = SymmetricKey(size: .bits256),
        configuration: CameraAccess.Configuration = .init(
            loginThrottle: .init(slowdownStep: .zero, maxSlowdown: .zero)
        ),
        logger: Logger = quietLogger,
        timeshift: Bool = false,
        _ body: @Sendable (Server) async throws -> Void
    ) async throws {
        let wallClock = WallClock()
        let uptime = ManualClock()
        let access = CameraAccess(
            users: users,
            signingKey: signingKey,
            configuration: configuration,
            now: { wallClock.now },
            uptime: { uptime.now.offset },
            logger: logger
        )
        let mount: @Sendable (Router<CameraRequestContext>, [MJPEGEndpoints]) -> Void = { router, endpoints in
            let index = MJPEGCameraIndex(cameras: [
                .init(name: "front", endpoints: endpoints[0]), .init(name: "back", endpoints: endpoints[1]),
            ])
            router.get("healthz") { _, _ in "ok\n" }
            let cameras = router.group().add(middleware: access.middleware(for: index))
            cameras.addRoutes(index.routes(context: CameraRequestContext.self))
            cameras.addRoutes(access.linkRoutes(for: index))
        }
        try await LiveServer.run(
            context: CameraRequestContext.self,
            cameras: 2,
            endpoints: .init(snapshotTimeout: .seconds(5)),
            logger: logger,
            timeshift: timeshift,
            mount: mount
        ) { live in
            try await body(Server(live: live, access: access, wallClock: wallClock, uptime: uptime))
        }
    }

    /// Sends `image` until the viewer gets it (it may first get the snapshot's frames still in flight).
    static func next(_ image: JPEGImage, from viewer: inout StreamViewer, camera: ManualCamera) async throws {
        camera.send(image)
        for _ in 0..<20 {
            if try await viewer.nextPart()?.body == image.bytes { return }
        }
        Issue.record("the viewer never got the frame")
    }

    /// Every route of the index, with the camera it is about (`nil`: none in particular).
    static let routes: [(path: String, camera: String?)] = [
        ("/", nil), ("/status", nil), ("/cameras/front/", "front"), ("/cameras/front/status", "front"),
        ("/cameras/front/snapshot.jpg", "front"), ("/cameras/front/snapshot", "front"),
        ("/cameras/front/?action=snapshot", "front"), ("/cameras/front/link", "front"),
        ("/cameras/back/", "back"), ("/cameras/back/snapshot.jpg", "back"), ("/cameras/back/link", "back"),
        ("/snapshot.jpg", "front"), ("/snapshot", "front"), ("/?action=snapshot", "front"),
        ("/?action=snapshot_1", "back"),
    ]

    @Test func withoutUsersEveryRouteIsOpen() async throws {
        try await Self.run(users: CameraUsers()) { server in
            for (path, _) in Self.routes {
                #expect(try await server.get(path).status == 200, "\(path)")
            }
            let links = try await server.links("front", [])
            #expect(
                links
                    == StreamLinks(
                        stream: "/cameras/front/stream",
                        snapshot: "/cameras/front/snapshot.jpg",
                        expires: nil
                    )
            )
        }
    }

    @Test func withUsersEveryRouteButHealthzNeedsAPasswordAndEachCameraItsUsers() async throws {
        try await Self.run { server in
            #expect(try await server.get("/healthz").status == 200)
            for (path, camera) in Self.routes {
                let anonymous = try await server.get(path)
                #expect(anonymous.status == 401, "\(path)")
                #expect(anonymous.headers["www-authenticate"] == "Basic realm=\"FrameStream\", charset=\"UTF-8\"")
                let wrong = try await server.get(path, Self.basic("alice", "wrong"))
                #expect(wrong.status == 401, "\(path)")
                // A good password clears the address's failures, so the lockout never comes here.
                #expect(try await server.get(path, Self.alice).status == 200, "\(path)")
                let bob = try await server.get(path, Self.bob)
                #expect(bob.status == (camera == "front" ? 403 : 200), "\(path): \(bob.body)")
            }
            // Other spellings of a restricted camera's address either are refused or reach no route.
            for path in [
                "/cameras//front/snapshot.jpg", "//cameras/front/snapshot.jpg", "/cameras/front/snapshot.jpg/",
                "/cameras/fr%6Fnt/snapshot.jpg", "/cameras/front/./snapshot.jpg", "/%63ameras/front/snapshot.jpg",
            ] {
                let bob = try await server.get(path, Self.bob)
                #expect(bob.status == 403 || bob.status == 404, "\(path): \(bob.status)")
            }
        }
    }

    @Test func streamsNeedAPasswordToo() async throws {
        try await Self.run { server in
            for path in [
                "/cameras/front/stream", "/cameras/back/video_feed", "/video_feed", "/stream", "/?action=stream",
            ] {
                #expect(try await server.live.get(path, method: .HEAD).status == 401, "\(path)")
            }
            #expect(try await server.live.get("/cameras/front/stream", method: .HEAD, headers: Self.bob).status == 403)
            var viewer = try await server.live.openStream("/cameras/front/stream", headers: Self.alice)
            #expect(viewer.status == 200)
            await server.live.cameras[0].waitForStarts(1)
            server.live.cameras[0].send(testImage(7))
            #expect(try await viewer.nextPart()?.body == testImage(7).bytes)
        }
    }

    @Test func thePageAndStatusOfSeveralCamerasShowOnlyTheUsersCameras() async throws {
        try await Self.run { server in
            let alicePage = try await server.get("/", Self.alice).body
            let bobPage = try await server.get("/", Self.bob).body
            #expect(alicePage.contains("cameras/front/") && alicePage.contains("cameras/back/"))
            #expect(!bobPage.contains("cameras/front/") && bobPage.contains("cameras/back/"))
            let bobStatus = try JSONDecoder().decode(
                CameraIndexStatus.self,
                from: Data(try await server.get("/status", Self.bob).body.utf8)
            )
            #expect(Set(bobStatus.cameras.keys) == ["back"])
        }
    }

    @Test func aSignedLinkWorksWithoutAPasswordUntilItExpires() async throws {
        try await Self.run { server in
            let links = try await server.links("front", Self.alice, expires: 60)
            let now = Int(server.wallClock.now.timeIntervalSince1970)
            #expect(links.expires == now + 60 || links.expires == now + 61)
            #expect(links.snapshot.hasPrefix("/cameras/front/snapshot.jpg?exp=\(links.expires ?? 0)&sig="))
            #expect(links.stream.hasPrefix("/cameras/front/stream?exp=\(links.expires ?? 0)&sig="))
            #expect(try await server.get(links.snapshot).status == 200)
            var viewer = try await server.live.openStream(links.stream)
            #expect(viewer.status == 200)
            // The camera may still run from the snapshot: the frames are told apart by their bytes.
            await server.live.cameras[0].waitForStarts(1)
            try await Self.next(testImage(21), from: &viewer, camera: server.live.cameras[0])
            // Past its expiry the link opens nothing new, but the stream it opened keeps running.
            server.wallClock.advance(by: 61)
            let expired = try await server.get(links.snapshot)
            #expect(expired.status == 403)
            #expect(expired.body.contains("expired"))
            #expect(try await server.live.get(links.stream, method: .HEAD).status == 403)
            try await Self.next(testImage(22), from: &viewer, camera: server.live.cameras[0])
        }
    }

    /// The first camera's archive at the root is its archive: its users only; a link shows its live view only.
    @Test func theArchiveRoutesFollowTheCamerasUsersAndALinkShowsTheLiveViewOnly() async throws {
        try await Self.run(timeshift: true) { server in
            let archivePaths = [
                "/recordings", "/player", "/frame.jpg?t=now", "/export.mjpeg?start=-5s&end=now",
                "/cameras/front/recordings", "/cameras/front/player", "/cameras/front/frame.jpg?t=now",
            ]
            for path in archivePaths {
                #expect(try await server.get(path, Self.bob).status == 403, "\(path)")
                #expect(try await server.get(path).status == 401, "\(path)")
            }
            #expect(try await server.get("/recordings", Self.alice).status == 200)
            #expect(try await server.get("/cameras/back/recordings", Self.bob).status == 200)
            var playback = HTTPClientRequest(url: server.live.baseURL + "/playback")
            playback.method = .POST
            for (name, value) in Self.bob { playback.headers.add(name: name, value: value) }
            #expect(try await server.live.client.execute(playback, timeout: .seconds(10)).status.code == 403)

            let links = try await server.links("front", Self.alice)
            #expect(try await server.live.get(links.stream, method: .HEAD).status == 200)
            for query in ["&start=-10s", "&rate=-1", "&session=0123", "&end=now"] {
                let response = try await server.live.get(links.stream + query, method: .HEAD)
                #expect(response.status == 403, "\(query)")
            }
            // A session is its maker's: another user cannot watch or steer it.
            var make = HTTPClientRequest(url: server.live.baseURL + "/cameras/back/playback")
            make.method = .POST
            for (name, value) in Self.alice { make.headers.add(name: name, value: value) }
            let response = try await server.live.client.execute(make, timeout: .seconds(10))
            #expect(response.status.code == 201)
            let json = try JSONSerialization.jsonObject(
                with: Data(Array(buffer: try await response.body.collect(upTo: 1 << 16)))
            )
            let id = try #require((json as? [String: Any])?["id"] as? String)
            var steer = HTTPClientRequest(url: server.live.baseURL + "/cameras/back/playback/\(id)?pause")
            steer.method = .POST
            for (name, value) in Self.bob { steer.headers.add(name: name, value: value) }
            #expect(try await server.live.client.execute(steer, timeout: .seconds(10)).status.code == 404)
            #expect(
                try await server.live.get("/cameras/back/stream?session=\(id)", method: .HEAD, headers: Self.bob).status
                    == 404
            )
        }
    }

    @Test func aTamperedOrForeignLinkIsRefused() async throws {
        try await Self.run { server in
            let links = try await server.links("back", Self.bob)
            let expires = links.expires ?? 0
            let signature = String(links.snapshot.split(separator: "sig=")[1])
            var flipped = Array(signature)
            flipped[5] = flipped[5] == "A" ? "B" : "A"
            let tampered: [String] = [
                "/cameras/back/snapshot.jpg?exp=\(expires)&sig=\(String(flipped))",
                "/cameras/back/snapshot.jpg?exp=\(expires + 1000)&sig=\(signature)",
                "/cameras/back/snapshot.jpg?exp=\(expires)&sig=",
                "/cameras/back/snapshot.jpg?sig=\(signature)",
                "/cameras/back/snapshot.jpg?exp=\(expires)&sig=%%%%",
                // Another path: the stream's signature on the snapshot, the snapshot's on another camera.
                "/cameras/back/snapshot.jpg?" + links.stream.split(separator: "?")[1],
                "/cameras/front/snapshot.jpg?exp=\(expires)&sig=\(signature)",
                "/snapshot.jpg?exp=\(expires)&sig=\(signature)",
            ]
            for path in tampered {
                let answer = try await server.get(path)
                #expect(answer.status == 403, "\(path): \(answer.status)")
            }
            // The same signature on a route that is neither a stream nor a snapshot counts for nothing: a password
            // is needed there.
            #expect(try await server.get("/cameras/back/status?exp=\(expires)&sig=\(signature)").status == 401)
            #expect(try await server.get(links.snapshot).status == 200)
        }
    }

    @Test func aLinkCannotMakeLinksAndBadExpiriesAreRefused() async throws {
        try await Self.run { server in
            let links = try await server.links("back", Self.bob)
            let query = links.snapshot.split(separator: "?")[1]
            // The signature is for the snapshot's path, not for the link route.
            #expect(try await server.get("/cameras/back/link?\(query)").status == 401)
            for expires in ["0", "-5", "abc", "31622401", "99999999999999999999"] {
                let answer = try await server.get("/cameras/back/link?expires=\(expires)", Self.bob)
                #expect(answer.status == 400, "\(expires)")
                #expect(answer.body.contains("expires must be"))
            }
        }
    }

    @Test func aNewKeyInvalidatesEveryLink() async throws {
        let key = SymmetricKey(size: .bits256)
        let link = SharedText()
        try await Self.run(signingKey: key) { server in
            let links = try await server.links("back", Self.bob)
            link.set(links.snapshot)
            #expect(try await server.get(links.snapshot).status == 200)
        }
        try await Self.run(signingKey: key) { server in
            let answer = try await server.get(link.value)
            #expect(answer.status == 200, "the same key keeps links working")
        }
        try await Self.run(signingKey: SymmetricKey(size: .bits256)) { server in
            let answer = try await server.get(link.value)
            #expect(answer.status == 403)
        }
        // A new password for the user who made a link ends it.
        try await Self.run(
            users: CameraUsers(passwordHashes: ["alice": Self.aliceHash, "bob": Self.aliceHash]),
            signingKey: key
        ) { server in
            let answer = try await server.get(link.value)
            #expect(answer.status == 403)
        }
        // Removing the user who made a link ends it too.
        try await Self.run(
            users: CameraUsers(passwordHashes: ["alice": Self.aliceHash]),
            signingKey: key
        ) { server in
            let answer = try await server.get(link.value)
            #expect(answer.status == 403)
        }
    }

    @Test func repeatedFailuresLockTheAddressOutUntilTheLockoutEnds() async throws {
        let (logger, log) = recordingLogger()
        try await Self.run(
            configuration: .init(
                loginThrottle: .init(
                    maxFailures: 4,
                    window: .seconds(60),
                    lockout: .seconds(120),
                    slowdownStep: .zero,
                    maxSlowdown: .zero
                )
            ),
            logger: logger
        ) { server in
            for _ in 1...3 {
                #expect(try await server.get("/status", Self.basic("alice", "guess")).status == 401)
            }
            let locked = try await server.get("/status", Self.basic("alice", "guess"))
            #expect(locked.status == 429)
            #expect(locked.headers["retry-after"] == "120")
            // Locked out, even the right password is not checked.
            #expect(try await server.get("/status", Self.alice).status == 429)
            #expect(try await server.get("/healthz").status == 200)
            server.uptime.advance(by: .seconds(119))
            #expect(try await server.get("/status", Self.alice).headers["retry-after"] == "1")
            server.uptime.advance(by: .seconds(1))
            #expect(try await server.get("/status", Self.alice).status == 200)
            // Failures that are older than the window do not add up.
            for _ in 1...3 {
                #expect(try await server.get("/status", Self.basic("bob", "guess")).status == 401)
                server.uptime.advance(by: .seconds(30))
            }
            #expect(try await server.get("/status", Self.basic("bob", "guess")).status == 401)
        }
        // The good passwords after the lockout: one bcrypt check, logged once, then remembered.
        let logins = log.entries.filter { $0.level == .info && $0.message.description == "login" }
        #expect(logins.count == 1)
        #expect(logins.first?.metadata["user"]?.description == "alice")
        #expect(logins.first?.metadata["address"]?.description == "127.0.0.1")
        let warnings = log.entries.filter { $0.level == .warning }.map { "\($0.message) \($0.metadata)" }
        #expect(warnings.filter { $0.contains("login failed") }.count == 8)
        #expect(warnings.contains { $0.contains("locking the address out for 120 s after 4 failures") })
        #expect(warnings.allSatisfy { $0.contains("127.0.0.1") && $0.contains("user") })
        #expect(!warnings.contains { $0.contains("guess") })
    }

    @Test func anAddressMayHoldNoMoreStreamsThanItsLimit() async throws {
        try await Self.run(
            users: CameraUsers(),
            configuration: .init(maxStreamsPerAddress: 2)
        ) { server in
            let first = try await server.live.openStream("/cameras/front/stream")
            let second = try await server.live.openStream("/cameras/back/stream")
            #expect(first.status == 200 && second.status == 200)
            let third = try await server.live.get("/cameras/front/stream")
            #expect(third.status == 429)
            #expect(String(decoding: third.body, as: UTF8.self).contains("too many streams from this address (2)"))
            // Snapshots and HEAD are not streams.
            #expect(try await server.get("/cameras/front/snapshot.jpg").status == 200)
            #expect(try await server.live.get("/cameras/front/stream", method: .HEAD).status == 200)
            _ = consume first
            // The limit frees up when a stream ends.
            var freed = false
            for _ in 0..<200 where !freed {
                try await Task.sleep(for: .milliseconds(20))
                let response = try await server.live.client.execute(
                    .init(url: server.live.baseURL + "/cameras/front/stream"),
                    timeout: .seconds(5)
                )
                freed = response.status == .ok
            }
            #expect(freed)
            withExtendedLifetime(second) {}
        }
    }

    @Test func htpasswdHashesWork() async throws {
        // `htpasswd -B` writes `$2y$`, PHP's name for the same algorithm as `$2b$`.
        let hash = "$2y$" + Self.aliceHash.dropFirst(4)
        try await Self.run(users: CameraUsers(passwordHashes: ["alice": hash])) { server in
            let good = try await server.get("/status", Self.alice)
            #expect(good.status == 200)
            #expect(try await server.get("/status", Self.basic("alice", "wrong")).status == 401)
        }
    }

    @Test func aLinksSignatureIsNotLogged() async throws {
        let (logger, log) = recordingLogger()
        try await Self.run(logger: logger) { server in
            let links = try await server.links("back", Self.bob)
            var viewer = try await server.live.openStream(links.stream + "&fps=5")
            #expect(viewer.status == 200)
            await server.live.cameras[1].waitForStarts(1)
            try await Self.next(testImage(3), from: &viewer, camera: server.live.cameras[1])
            _ = consume viewer
            let signature = String(links.stream.split(separator: "sig=")[1])
            for _ in 0..<100 where !log.entries.contains(where: { $0.message.description.contains("disconnected") }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let lines = log.entries.map { "\($0.message) \($0.metadata)" }
            #expect(lines.contains { $0.contains("/cameras/back/stream?exp=") && $0.contains("sig=<hidden>&fps=5") })
            #expect(!lines.contains { $0.contains(signature) })
        }
    }

    @Test func noPasswordHashOrKeyAppearsInLogsOrAnswers() async throws {
        let (logger, log) = recordingLogger()
        let keyText = "a signing key that must stay secret"
        try await Self.run(signingKey: SymmetricKey(data: Data(keyText.utf8)), logger: logger) { server in
            var bodies: [String] = []
            for (path, _) in Self.routes {
                bodies.append(try await server.get(path).body)
                bodies.append(try await server.get(path, Self.basic("alice", Self.bobPassword)).body)
                bodies.append(try await server.get(path, Self.alice).body)
            }
            let everything = bodies.joined() + log.entries.map { "\($0.message) \($0.metadata)" }.joined()
            for secret in [Self.alicePassword, Self.bobPassword, Self.aliceHash, Self.bobHash, keyText] {
                #expect(!everything.contains(secret))
            }
            var dumped = ""
            dump(server.access, to: &dumped)
            let shown =
                dumped + "\(server.access)" + String(reflecting: server.access)
                + String(reflecting: server.access.users)
            #expect(shown.contains("alice"))
            for secret in [Self.aliceHash, Self.bobHash, keyText] {
                #expect(!shown.contains(secret))
            }
        }
    }
}

/// A wall clock that a test sets.
final class WallClock: Sendable {
    private let time = Mutex(Date())

    var now: Date { time.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        time.withLock { $0 += seconds }
    }
}

/// Text that one part of a test sets and another reads.
final class SharedText: Sendable {
    private let text = Mutex("")

    var value: String { text.withLock { $0 } }

    func set(_ value: String) {
        text.withLock { $0 = value }
    }
}
