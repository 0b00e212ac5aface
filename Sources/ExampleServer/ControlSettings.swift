import FrameStream
import Logging

/// A camera's `controls:` (brightness, exposure, focus, …) in the configuration file and `--control NAME=VALUE`
/// on the command line: parsed, and checked against the camera at start.
enum ControlSettings {
    /// What `--control` takes, and a `controls:` entry must be.
    static let expected =
        "NAME=VALUE with a control name such as brightness or exposure_auto (v4l2-ctl --list-ctrls names them) and "
        + "a whole number or true/false, such as --control brightness=10"

    /// `brightness=10` or `white_balance_automatic=false`, or `nil` if it is neither.
    static func parse(_ argument: String) -> (name: String, value: Int)? {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        let name = String(argument[..<equals])
        guard isValidName(name), let value = value(String(argument[argument.index(after: equals)...])) else {
            return nil
        }
        return (name, value)
    }

    /// A whole number, or `true`/`false` as 1 and 0.
    static func value(_ text: String) -> Int? {
        switch text.lowercased() {
        case "true": 1
        case "false": 0
        default: Int(text)
        }
    }

    /// Lowercase letters, digits and `_`, as ``CameraControl/name(forLabel:)`` makes them.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Checks each camera's controls against its device, once, before the server starts: an unknown name or a
    /// value out of range is a startup error. A device that cannot be opened now (unplugged) is not: its
    /// controls are checked, and bad ones logged and skipped, each time it starts.
    static func check(
        _ sources: [(camera: CameraConfiguration, source: any FrameSource, logger: Logger)],
        file: String?
    ) async throws(StartupError) {
        for (camera, source, logger) in sources where !camera.controls.isEmpty {
            func failure(_ message: String) -> StartupError {
                StartupError(
                    ConfigurationFileError(
                        file: file ?? "the command line",
                        camera: camera.name,
                        key: file == nil ? "--control" : "controls",
                        message: message
                    ).description
                )
            }
            guard let controls = source as? any CameraControls else {
                throw failure("the \(camera.driver) driver has no controls: only v4l2 cameras have them")
            }
            do throws(CameraControlError) {
                try CameraControl.check(camera.controls, against: try await controls.currentControls())
            } catch .unavailable(let reason) {
                logger.warning("cannot check the camera's controls now (\(reason)): they are set when it starts")
            } catch {
                throw failure(error.description)
            }
        }
    }
}
