import ArgumentParser
import FrameStream
import Logging
import Testing

@testable import ExampleServer

/// `controls:` in the configuration file and `--control NAME=VALUE` on the command line.
struct ExampleServerControlOptionsTests {
    @Test func theFileReadsNumbersAndBooleans() throws {
        let server = try ConfigurationFile.parse(
            """
            cameras:
              front:
                driver: v4l2
                controls: { exposure_auto: 1, focus_absolute: 30, white_balance_automatic: false, brightness: -5 }
            """,
            file: "cams.yaml"
        )
        #expect(
            server.cameras[0].controls == [
                "exposure_auto": 1, "focus_absolute": 30, "white_balance_automatic": 0, "brightness": -5,
            ]
        )
        #expect(server.cameras[0].cameraOptions(logger: .init(label: "test")).controls["focus_absolute"] == 30)
    }

    @Test(arguments: [
        ("controls: { brightness: 1.5 }", "key 'controls': brightness must be a whole number or true/false, not '1.5'"),
        ("controls: { Brightness: 1 }", "key 'controls': 'Brightness' is not a control name"),
        ("controls: [brightness]", "controls must be a mapping"),
    ])
    func badControlsInTheFileNameTheKey(_ entry: String, _ expected: String) {
        let error = #expect(throws: ConfigurationFileError.self) {
            try ConfigurationFile.parse("cameras:\n  front: { driver: v4l2, \(entry) }\n", file: "cams.yaml")
        }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "no error")")
    }

    @Test func theFlagAddsToTheFileForEveryCamera() throws {
        let server = try ExampleServer.parse([
            "--camera", "v4l2", "--control", "brightness=10", "--control", "white_balance_automatic=false",
        ]).serverConfiguration(environment: [:])
        #expect(server.cameras[0].controls == ["brightness": 10, "white_balance_automatic": 0])
        #expect(ExampleServer.flag(forKey: "controls") == "--control")
    }

    @Test(arguments: ["brightness", "brightness=bright", "=1", "Bright ness=1"])
    func aBadFlagSaysWhatItTakes(_ argument: String) {
        let error = #expect(throws: (any Error).self) { try ExampleServer.parse(["--control", argument]) }
        #expect(
            ExampleServer.message(for: error!).contains("--control must be NAME=VALUE"),
            "\(ExampleServer.message(for: error!))"
        )
    }
}
