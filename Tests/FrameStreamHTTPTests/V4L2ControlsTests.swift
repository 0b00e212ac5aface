import Foundation
import FrameStreamTesting
import HummingbirdBcrypt
import Testing

/// Camera controls end to end: ExampleServer with a V4L2 camera, through the real libv4l2, against the stand-in
/// device, whose controls are brightness, contrast, white_balance_automatic, power_line_frequency,
/// exposure_auto (items 1 and 3), exposure_absolute (inactive unless exposure_auto is 1), the button pan_reset,
/// focus_absolute (steps of 5) and the integer menu auto_exposure_bias, and which logs every value set
/// (`s_ctrl NAME VALUE`).
@Suite(.timeLimit(.minutes(1)))
struct V4L2ControlsTests {
    static let fixture = TestFixtures.directory + "/1.jpg"
    static let password = "controls password"

    /// A configuration file with two users, `alice` and `bob`, and one stand-in camera, `front`, that only alice
    /// may watch, with `extra` keys.
    static func config(_ extra: String = "") throws -> String {
        let path = NSTemporaryDirectory() + "framestream-controls-\(UUID().uuidString).yaml"
        let hash = Bcrypt.hash(password, cost: 4)
        try """
        users:
          alice: "\(hash)"
          bob: "\(hash)"
        cameras:
          front: { driver: v4l2, device: \(StandInServer.device), users: [alice]\(extra) }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let alice = [("authorization", "Basic " + Data("alice:\(password)".utf8).base64EncodedString())]
    static let bob = [("authorization", "Basic " + Data("bob:\(password)".utf8).base64EncodedString())]

    static func withServer(
        camera: [String] = ["--camera", "v4l2", "--device", StandInServer.device],
        _ arguments: [String] = [],
        _ body: (StandInServer) async throws -> Void
    ) async throws {
        let server = try StandInServer(camera: camera, arguments: arguments, standIn: ["JPEG": Self.fixture])
        do {
            try await body(server)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    static func controls(_ body: [UInt8]) throws -> [String: [String: Any]] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let list = try #require(json["controls"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
    }

    static func text(_ body: [UInt8]) -> String { String(decoding: body, as: UTF8.self) }

    @Test func listsTheControlsWithRangesAndValuesAndAnonymousUsersMayReadButNotSet() async throws {
        try await Self.withServer { server in
            let answer = try await server.get("/cameras/v4l2/controls")
            #expect(answer.status == 200, "\(Self.text(answer.body))")
            let controls = try Self.controls(answer.body)
            // Class headings and the disabled hue are left out.
            #expect(
                Set(controls.keys) == [
                    "brightness", "contrast", "white_balance_automatic", "power_line_frequency", "exposure_auto",
                    "exposure_absolute", "pan_reset", "focus_absolute", "auto_exposure_bias",
                ]
            )
            let brightness = try #require(controls["brightness"])
            #expect(brightness["type"] as? String == "integer")
            #expect(brightness["label"] as? String == "Brightness")
            #expect(brightness["minimum"] as? Int == -64 && brightness["maximum"] as? Int == 64)
            #expect(brightness["step"] as? Int == 1 && brightness["default"] as? Int == 0)
            #expect(brightness["value"] as? Int == 0)
            #expect(controls["focus_absolute"]?["step"] as? Int == 5)
            #expect(controls["white_balance_automatic"]?["type"] as? String == "boolean")
            #expect(controls["white_balance_automatic"]?["value"] as? Int == 1)
            let exposure = try #require(controls["exposure_auto"])
            #expect(exposure["type"] as? String == "menu")
            let menu = try #require(exposure["menu"] as? [[String: Any]])
            #expect(menu.map { $0["index"] as? Int } == [1, 3])
            #expect(menu.map { $0["name"] as? String } == ["Manual Mode", "Aperture Priority Mode"])
            #expect(controls["exposure_absolute"]?["inactive"] as? Bool == true)
            #expect(controls["pan_reset"]?["type"] as? String == "button")
            #expect(controls["pan_reset"]?["value"] == nil)
            let bias = try #require(controls["auto_exposure_bias"])
            #expect(bias["type"] as? String == "integerMenu")
            #expect(bias["value"] as? Int == 2)
            let numbers = (bias["menu"] as? [[String: Any]])?.map { $0["number"] as? Int }
            #expect(numbers == [-2000, -1000, 0, 1000, 2000])

            // No users on this server: nobody may change the camera.
            let refused = try await server.post("/cameras/v4l2/controls", body: #"{"brightness": 10}"#)
            #expect(refused.status == 403)
            #expect(Self.text(refused.body).contains("configure users"), "\(Self.text(refused.body))")
            #expect(!server.events().contains { $0.hasPrefix("s_ctrl") })
        }
    }

    @Test func aUserSetsControlsWhileTheCameraRunsAndReadsThemBack() async throws {
        let config = try Self.config(", idleTimeout: never")
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await Self.withServer(camera: ["--config", config]) { server in
            #expect(try await server.get("/cameras/front/snapshot.jpg", headers: Self.alice).status == 200)
            // exposure_absolute is refused while exposure is automatic: exposure_auto must be set first, whatever
            // the order in the request.
            let set = try await server.post(
                "/cameras/front/controls",
                body: #"{"exposure_absolute": 300, "exposure_auto": 1, "brightness": -20, "#
                    + #""white_balance_automatic": false, "auto_exposure_bias": 3}"#,
                headers: Self.alice
            )
            #expect(set.status == 200, "\(Self.text(set.body))")
            #expect(try Self.controls(set.body)["brightness"]?["value"] as? Int == -20)
            let read = try Self.controls(try await server.get("/cameras/front/controls", headers: Self.alice).body)
            #expect(read["brightness"]?["value"] as? Int == -20)
            #expect(read["exposure_auto"]?["value"] as? Int == 1)
            #expect(read["exposure_absolute"]?["value"] as? Int == 300)
            #expect(read["exposure_absolute"]?["inactive"] as? Bool == false)
            #expect(read["white_balance_automatic"]?["value"] as? Int == 0)
            #expect(read["auto_exposure_bias"]?["value"] as? Int == 3)
            let sets = server.events().filter { $0.hasPrefix("s_ctrl") }
            let automatic = try #require(sets.firstIndex(of: "s_ctrl exposure_auto 1"))
            let manual = try #require(sets.firstIndex(of: "s_ctrl exposure_absolute 300"))
            #expect(automatic < manual)
            // Without a password, the access middleware asks for one; a user who may not watch the camera may neither
            // read nor set its controls, at its own address or at the first camera's.
            #expect(try await server.post("/cameras/front/controls", body: #"{"brightness": 1}"#).status == 401)
            for path in ["/cameras/front/controls", "/controls"] {
                #expect(try await server.get(path, headers: Self.bob).status == 403)
                #expect(try await server.post(path, body: #"{"brightness": 1}"#, headers: Self.bob).status == 403)
            }
            #expect(!server.events().contains("s_ctrl brightness 1"))
        }
    }

    @Test func unknownNamesAndValuesOutOfRangeAreRefusedWithWhatIsAllowed() async throws {
        let config = try Self.config()
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await Self.withServer(camera: ["--config", config]) { server in
            func post(_ body: String) async throws -> (Int, String) {
                let answer = try await server.post("/cameras/front/controls", body: body, headers: Self.alice)
                return (answer.status, Self.text(answer.body))
            }
            let high = try await post(#"{"brightness": 100, "contrast": 10}"#)
            #expect(high.0 == 400)
            #expect(high.1.contains("brightness must be from -64 to 64, not 100"), "\(high.1)")
            let offStep = try await post(#"{"focus_absolute": 33}"#)
            #expect(offStep.0 == 400)
            #expect(offStep.1.contains("from 0 to 250 in steps of 5, not 33"), "\(offStep.1)")
            let menu = try await post(#"{"exposure_auto": 2}"#)
            #expect(menu.0 == 400)
            #expect(menu.1.contains("one of 1 (Manual Mode), 3 (Aperture Priority Mode), not 2"), "\(menu.1)")
            let bias = try await post(#"{"auto_exposure_bias": 5}"#)
            #expect(bias.0 == 400)
            #expect(bias.1.contains("one of 0 (-2000), 1 (-1000), 2 (0), 3 (1000), 4 (2000), not 5"), "\(bias.1)")
            let unknown = try await post(#"{"brightnes": 10}"#)
            #expect(unknown.0 == 400)
            #expect(unknown.1.contains("no control 'brightnes': use one of brightness, contrast"), "\(unknown.1)")
            let notJSON = try await post("brightness=10")
            #expect(notJSON.0 == 400)
            #expect(notJSON.1.contains("JSON object"), "\(notJSON.1)")
            // Nothing of a refused request is set, not even its good values.
            #expect(!server.events().contains { $0.hasPrefix("s_ctrl") }, "\(server.events())")
        }
    }

    @Test func configuredControlsAreSetAtEveryStartAndSoAreValuesSetSince() async throws {
        let config = try Self.config(
            ", idleTimeout: 0, controls: { exposure_absolute: 500, exposure_auto: 1, brightness: -10 }"
        )
        defer { try? FileManager.default.removeItem(atPath: config) }
        try await Self.withServer(camera: ["--config", config]) { server in
            #expect(try await server.get("/cameras/front/snapshot.jpg", headers: Self.alice).status == 200)
            // The capture has released the device (the idle stop).
            var events = try await server.waitForEvent("reqbufs 0")
            #expect(
                events.filter { $0.hasPrefix("s_ctrl") }.prefix(3) == [
                    "s_ctrl exposure_auto 1", "s_ctrl brightness -10", "s_ctrl exposure_absolute 500",
                ]
            )
            // Set while the camera is stopped: the device is opened briefly, and the value is kept for next time.
            let set = try await server.post(
                "/cameras/front/controls",
                body: #"{"brightness": 20, "pan_reset": 1}"#,
                headers: Self.alice
            )
            #expect(set.status == 200, "\(Self.text(set.body))")
            #expect(try await server.get("/cameras/front/snapshot.jpg", headers: Self.alice).status == 200)
            // exposure_absolute is the last one each start sets.
            events = try await server.waitForEvent("s_ctrl exposure_absolute 500", count: 2)
            #expect(events.filter { $0 == "s_ctrl exposure_auto 1" }.count == 2)
            #expect(events.filter { $0 == "s_ctrl brightness 20" }.count == 2)
            // The second start set the newer brightness, not the configured one; a button is an action, not a setting
            // to repeat.
            #expect(events.filter { $0 == "s_ctrl brightness -10" }.count == 1)
            #expect(events.filter { $0 == "s_ctrl pan_reset 1" }.count == 1)
        }
    }

    @Test(arguments: [
        ("controls: { brightnes: 1 }", "key 'controls': the camera has no control 'brightnes': use one of brightness"),
        ("controls: { brightness: 99 }", "key 'controls': brightness must be from -64 to 64, not 99"),
        ("controls: { brightness: high }", "key 'controls': brightness must be a whole number or true/false"),
    ])
    func badControlsInTheConfigStopTheServerWithOneLine(_ extra: String, _ expected: String) async throws {
        let config = try Self.config(", " + extra)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StandInServer.products + "/ExampleServer")
        process.arguments = ["--config", config, "--port", "0"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["LD_PRELOAD": StandInServer.products + "/libV4L2StandIn.so"],
            uniquingKeysWith: { _, new in new }
        )
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // A server that starts instead would keep its standard error open: wait for the exit, not for the end.
        for _ in 0..<400 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            process.terminate()
            Issue.record("the server did not stop at start")
        }
        process.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(output.hasPrefix("error: \(config): camera 'front': \(expected)"), "\(output)")
        #expect(output.filter { $0 == "\n" }.count == 1, "not one line: \(output)")
    }

    @Test func aCameraWithoutControlsSaysSo() async throws {
        try await Self.withServer(camera: ["--camera", "emulated"]) { server in
            let answer = try await server.get("/cameras/emulated/controls")
            #expect(answer.status == 404)
            #expect(Self.text(answer.body).contains("this camera has no controls"))
        }
    }
}
