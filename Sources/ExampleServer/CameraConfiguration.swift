import FrameStream
import Logging

import class Foundation.FileManager

/// One camera of the server: its driver, the driver's options, and the limits of its endpoints. Every key is also
/// a command-line flag (`maxFps` is `--max-fps`).
struct CameraConfiguration: Equatable, Sendable {
    /// The name in the camera's addresses (`/cameras/NAME/`).
    var name: String
    /// The driver (`CAMERA`), such as `v4l2`.
    var driver: String
    var device: String?
    var size: FrameSize?
    var fps: Double?
    var quality: Int?
    var framesDir: String?
    var command: String?
    var url: String?
    /// Degrees clockwise: 0, 90, 180 or 270 (after `flip`).
    var rotate: Int?
    /// `horizontal`, `vertical` or `none` (before `rotate`).
    var flip: String?
    /// Seconds, or `nil` for never: the camera keeps running once started.
    var idleTimeout: Double? = 10
    var maxClients = 1000
    var maxFps: Double?
    var heartbeat: Double = 5
    var stallTimeout: Double = 30
    /// The users who may watch the camera; `nil` for every user.
    var users: [String]?
    /// Where and how the camera is recorded; `nil` for no recording.
    var record: RecordingSettings?
    /// The last seconds kept in memory for pausing and rewinding the live view.
    var timeshift = TimeshiftSetting.standard
    /// What viewers see while the camera has no picture: `on` (a generated picture that says why), `off`, or a
    /// JPEG file to show instead.
    var placeholder = "on"
    /// Control values set each time the camera starts, by name (`exposure_auto: 1`), for v4l2 cameras.
    var controls: [String: Int] = [:]

    /// A value that cannot be used: the key (`maxFps`) and what it must be.
    struct Problem: Error, Equatable {
        var key: String
        var expected: String
    }

    /// The keys of a camera in a configuration file, in the order the README lists them.
    static let keys = [
        "driver", "device", "size", "fps", "quality", "framesDir", "command", "url", "rotate", "flip", "idleTimeout",
        "maxClients", "maxFps", "heartbeat", "stallTimeout", "users", "record", "timeshift", "placeholder", "controls",
    ]

    /// The first value that cannot be used, if any.
    func problem() -> Problem? {
        if !Self.isValidName(name) {
            return Problem(key: "name", expected: "letters, digits, '-', '_' and '.' only, such as front-door")
        }
        if let fps, !(0.001...1000).contains(fps) {
            return Problem(key: "fps", expected: "from 0.001 to 1000")
        }
        if let quality, !(1...100).contains(quality) {
            return Problem(key: "quality", expected: "from 1 to 100")
        }
        if let rotate, FrameOrientation.Rotation(degrees: rotate) == nil {
            return Problem(key: "rotate", expected: "0, 90, 180 or 270 (degrees clockwise), not \(rotate)")
        }
        if let flip, flip != "none", FrameOrientation.Flip(rawValue: flip) == nil {
            return Problem(key: "flip", expected: "horizontal, vertical or none, not '\(flip)'")
        }
        if let idleTimeout, !(idleTimeout >= 0 && idleTimeout <= 86_400 * 365) {
            return Problem(key: "idleTimeout", expected: "0 or more seconds (at most a year), or never")
        }
        if !(1...1_000_000).contains(maxClients) {
            return Problem(key: "maxClients", expected: "from 1 to 1000000")
        }
        if let maxFps, !(0.001...1000).contains(maxFps) {
            return Problem(key: "maxFps", expected: "from 0.001 to 1000")
        }
        if !(heartbeat >= 0.01 && heartbeat <= 86_400) {
            return Problem(key: "heartbeat", expected: "from 0.01 seconds to a day (86400)")
        }
        if !(stallTimeout >= 0.01 && stallTimeout <= 86_400) {
            return Problem(key: "stallTimeout", expected: "from 0.01 seconds to a day (86400)")
        }
        if let name = controls.keys.sorted().first(where: { !ControlSettings.isValidName($0) }) {
            return Problem(
                key: "controls",
                expected: "control names of lowercase letters, digits and _, such as exposure_auto, not '\(name)'"
            )
        }
        return record?.problem()
    }

    /// How the camera's pictures are turned: `flip` first, then `rotate` (checked by ``problem()``).
    var orientation: FrameOrientation {
        FrameOrientation(
            rotation: rotate.flatMap(FrameOrientation.Rotation.init(degrees:)) ?? .none,
            flip: flip.flatMap(FrameOrientation.Flip.init(rawValue:))
        )
    }

    /// The driver's options.
    func cameraOptions(logger: Logger) -> CameraOptions {
        CameraOptions(
            device: device,
            size: size,
            framesPerSecond: fps,
            quality: quality,
            framesDirectory: framesDir,
            command: command,
            url: url,
            controls: controls,
            logger: logger
        )
    }

    /// Whether `placeholder` names a file rather than saying on or off.
    var placeholderFile: String? {
        switch placeholder.lowercased() {
        case "on", "true", "yes", "off", "false", "no": nil
        default: placeholder
        }
    }

    /// The broadcaster's placeholder settings, with the custom image read from its file.
    func placeholders() throws(StartupError) -> FrameBroadcaster.Placeholders {
        if ["off", "false", "no"].contains(placeholder.lowercased()) { return .off }
        let label = device ?? url.map { CredentialRedaction.redacting($0) } ?? name
        // Before the first frame sets it: the size the camera is asked for, as it is served (turned).
        var settings = FrameBroadcaster.Placeholders(
            size: orientation.orientedSize(of: size ?? FrameSize(width: 640, height: 480)),
            cameraLabel: label
        )
        if let file = placeholderFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw StartupError("camera '\(name)': cannot read the placeholder image \(file)")
            }
            let bytes = [UInt8](data)
            guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
                throw StartupError("camera '\(name)': the placeholder image \(file) is not a JPEG file")
            }
            settings.image = bytes
        }
        return settings
    }

    /// Whether a name can stand in an address as it is.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                        || "-_.".unicodeScalars.contains(scalar))
            }
    }
}
