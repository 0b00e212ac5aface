import ArgumentParser
import Foundation
import Testing

@testable import ExampleServer

/// `record:`, `timeshift:` and `recordings:` in the configuration file, and `--record`, `--timeshift` on the command
/// line.
struct ExampleServerRecordingOptionsTests {
    @Test func recordAndTimeshiftAreReadWithTheirUnits() throws {
        let server = try ConfigurationFile.parse(
            """
            recordings: { maxBytes: 100GB }
            cameras:
              front:
                driver: testpattern
                record: { path: /srv/rec, segment: 30s, durability: 500ms, keep: { days: 7, bytes: 20GB }, minFree: 2GB }
                timeshift: 2m
              back: { driver: emulated, record: /srv/back, timeshift: 50MB }
              side: { driver: emulated, timeshift: off }
            """,
            file: "cams.yaml"
        )
        #expect(server.recordingsMaxBytes == 100 << 30)
        let front = try #require(server.cameras[0].record)
        #expect(front.path == "/srv/rec")
        #expect(front.segment == 30)
        #expect(front.durability == 0.5)
        #expect(front.keepDays == 7)
        #expect(front.keepBytes == 20 << 30)
        #expect(front.minFree == .bytes(2 << 30))
        #expect(server.cameras[0].timeshift == .seconds(120))
        #expect(server.cameras[1].record == RecordingSettings(path: "/srv/back"))
        #expect(server.cameras[1].record?.minFree == .fraction(0.05))
        #expect(server.cameras[1].timeshift == .bytes(50 << 20))
        #expect(server.cameras[2].record == nil)
        #expect(server.cameras[2].timeshift == .off)
    }

    @Test(arguments: [
        (
            "cameras:\n  a: { driver: emulated, record: { segment: 60s } }\n",
            "cams.yaml: camera 'a': key 'record': needs a path"
        ),
        (
            "cameras:\n  a: { driver: emulated, record: { path: /x, keep: { bytes: lots } } }\n",
            "cams.yaml: camera 'a': key 'record': keep.bytes must be a size such as 20GB"
        ),
        (
            "cameras:\n  a: { driver: emulated, record: { path: /x, minFree: some } }\n",
            "cams.yaml: camera 'a': key 'record': minFree must be a share such as 5%"
        ),
        (
            "cameras:\n  a: { driver: emulated, record: { path: /x, segmnet: 60s } }\n",
            "cams.yaml: camera 'a': key 'segmnet': unknown key"
        ),
        (
            "cameras:\n  a: { driver: emulated, timeshift: forever }\n",
            "cams.yaml: camera 'a': key 'timeshift': must be a time such as 30s"
        ),
        ("recordings: { maxBytes: -1 }\ncameras:\n  a: { driver: emulated }\n", "cams.yaml: key 'recordings'"),
    ])
    func badRecordingKeysNameTheKey(_ text: String, _ expected: String) {
        let error = #expect(throws: ConfigurationFileError.self) {
            try ConfigurationFile.parse(text, file: "cams.yaml")
        }
        #expect(error?.description.hasPrefix(expected) == true, "\(error?.description ?? "no error")")
    }

    @Test func valuesOutOfRangeAreStartupErrorsNamingTheKey() throws {
        let server = try ConfigurationFile.parse(
            "cameras:\n  a: { driver: emulated, record: { path: /x, segment: 0.1s } }\n",
            file: "cams.yaml"
        )
        #expect(server.problem()?.problem.key == "record")
        #expect(server.problem()?.problem.expected.contains("segment") == true)
    }

    @Test func theFlagsRecordEveryCameraAndSetTheTimeshift() throws {
        let single = try ExampleServer.parse(["--camera", "testpattern", "--record", "/tmp/r", "--timeshift", "10s"])
            .serverConfiguration(environment: [:])
        #expect(single.cameras[0].record?.path == "/tmp/r")
        #expect(single.cameras[0].timeshift == .seconds(10))
        #expect(throws: (any Error).self) { try ExampleServer.parse(["--timeshift", "soon"]) }
    }
}
