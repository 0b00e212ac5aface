import FrameStream
import Logging
import Yams

import class Foundation.FileManager
import struct Foundation.URL

/// Reads a server's configuration from a YAML file, in the style of go2rtc and mediamtx:
///
/// ```yaml
/// host: 127.0.0.1
/// port: 5000
/// cameras:
///   front: { driver: v4l2, device: /dev/video0, size: 1280x720 }
///   lab: { driver: testpattern, fps: 30, idleTimeout: 30 }
/// ```
///
/// Every key is checked: an unknown key or a bad value is an error that names the file, the camera and the key.
enum ConfigurationFile {
    /// The configuration in the file at `path`.
    static func load(path: String) throws(ConfigurationFileError) -> ServerConfiguration {
        let text: String
        do {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigurationFileError(file: path, message: "no such file")
            }
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch let error as ConfigurationFileError {
            throw error
        } catch {
            throw ConfigurationFileError(file: path, message: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(text, file: path)
    }

    /// The configuration in `text`; `file` names it in errors.
    static func parse(_ text: String, file: String) throws(ConfigurationFileError) -> ServerConfiguration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigurationFileError(file: file, message: "is empty: it needs at least 'cameras:'")
            }
            root = node
        } catch let error as ConfigurationFileError {
            throw error
        } catch {
            throw ConfigurationFileError(file: file, message: "is not valid YAML: \(oneLine(error))")
        }
        var reader = Reader(file: file)
        return try reader.server(root)
    }

    private static func oneLine(_ error: any Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }

    /// Walks the document, with the camera being read for errors.
    private struct Reader {
        let file: String
        var camera: String?

        func fail(_ key: String?, _ message: String) -> ConfigurationFileError {
            ConfigurationFileError(file: file, camera: camera, key: key, message: message)
        }

        func mapping(
            _ node: Node,
            _ what: String,
            known: [String]
        ) throws(ConfigurationFileError) -> [(
            String, Node
        )] {
            guard let mapping = node.mapping else {
                throw fail(nil, "\(what) must be a mapping of keys to values")
            }
            var seen = Set<String>()
            var pairs: [(String, Node)] = []
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string else { throw fail(nil, "\(what) has a key that is not text") }
                if !known.isEmpty, !known.contains(key) {
                    throw fail(key, "unknown key (known keys: \(known.joined(separator: ", ")))")
                }
                guard seen.insert(key).inserted else { throw fail(key, "given twice") }
                pairs.append((key, value))
            }
            return pairs
        }

        func string(_ node: Node, _ key: String) throws(ConfigurationFileError) -> String {
            guard let scalar = node.scalar, node.null == nil else {
                throw fail(key, "must be a value, such as \(key): something")
            }
            return scalar.string
        }

        func number(_ node: Node, _ key: String) throws(ConfigurationFileError) -> Double {
            guard node.scalar != nil, let value = node.float, value.isFinite else {
                throw fail(key, "must be a number, not '\(node.scalar?.string ?? "a list or mapping")'")
            }
            return value
        }

        func integer(_ node: Node, _ key: String) throws(ConfigurationFileError) -> Int {
            guard node.scalar != nil, let value = node.int else {
                throw fail(key, "must be a whole number, not '\(node.scalar?.string ?? "a list or mapping")'")
            }
            return value
        }

        mutating func server(_ node: Node) throws(ConfigurationFileError) -> ServerConfiguration {
            var server = ServerConfiguration(cameras: [])
            var sawCameras = false
            for (key, value) in try mapping(node, "the file", known: ServerConfiguration.keys) {
                switch key {
                case "host": server.host = try string(value, key)
                case "port": server.port = try integer(value, key)
                case "requestTimeout": server.requestTimeout = try number(value, key)
                case "maxConnections": server.maxConnections = try integer(value, key)
                case "logLevel":
                    let text = try string(value, key)
                    guard let level = Logger.Level(rawValue: text) else {
                        throw fail(key, "must be trace, debug, info, notice, warning, error or critical, not '\(text)'")
                    }
                    server.logLevel = level
                case "users":
                    for (name, hash) in try mapping(value, "users", known: []) {
                        server.users[name] = try string(hash, "users")
                    }
                case "tls":
                    var files: [String: String] = [:]
                    for (part, partValue) in try mapping(value, "tls", known: ["certificate", "key"]) {
                        files[part] = try string(partValue, key)
                    }
                    guard let certificate = files["certificate"], let keyFile = files["key"] else {
                        throw fail(
                            key,
                            "needs both certificate and key, such as tls: { certificate: cert.pem, key: key.pem }"
                        )
                    }
                    server.tls = .init(certificate: certificate, key: keyFile)
                case "signingKey": server.signingKey = try string(value, key)
                case "signingKeyFile": server.signingKeyFile = try string(value, key)
                case "allowOrigin": server.allowOrigin = try string(value, key)
                case "maxStreamsPerAddress": server.maxStreamsPerAddress = try integer(value, key)
                case "metricsHost": server.metricsHost = try string(value, key)
                case "metricsPort": server.metricsPort = try integer(value, key)
                case "recordings":
                    for (part, partValue) in try mapping(value, "recordings", known: ["maxBytes"]) {
                        let text = try string(partValue, part)
                        guard let bytes = RecordingSettings.bytes(text), bytes > 0 else {
                            throw fail(key, "maxBytes must be a size such as 100GB, not '\(text)'")
                        }
                        server.recordingsMaxBytes = bytes
                    }
                case "lockout":
                    for (part, partValue) in try mapping(value, "lockout", known: ["failures", "window", "duration"]) {
                        switch part {
                        case "failures": server.lockoutFailures = try integer(partValue, key)
                        case "window": server.lockoutWindow = try number(partValue, key)
                        default: server.lockoutDuration = try number(partValue, key)
                        }
                    }
                case "cameras":
                    sawCameras = true
                    for (name, cameraNode) in try mapping(value, "cameras", known: []) {
                        camera = name
                        server.cameras.append(try self.camera(named: name, cameraNode))
                        camera = nil
                    }
                default: break
                }
            }
            guard sawCameras, !server.cameras.isEmpty else {
                throw fail("cameras", "at least one camera is needed, such as cameras: { front: { driver: v4l2 } }")
            }
            return server
        }

        func camera(named name: String, _ node: Node) throws(ConfigurationFileError) -> CameraConfiguration {
            var camera = CameraConfiguration(name: name, driver: "")
            for (key, value) in try mapping(node, "camera '\(name)'", known: CameraConfiguration.keys) {
                switch key {
                case "driver": camera.driver = try string(value, key).lowercased()
                case "device": camera.device = try string(value, key)
                case "size":
                    let text = try string(value, key)
                    guard let size = FrameSize(text) else {
                        throw fail(key, "must be WIDTHxHEIGHT, such as 1280x720, not '\(text)'")
                    }
                    camera.size = size
                case "fps": camera.fps = try number(value, key)
                case "quality": camera.quality = try integer(value, key)
                case "framesDir": camera.framesDir = try string(value, key)
                case "command": camera.command = try string(value, key)
                case "url": camera.url = try string(value, key)
                case "rotate": camera.rotate = try integer(value, key)
                case "flip": camera.flip = try string(value, key).lowercased()
                case "idleTimeout":
                    camera.idleTimeout = value.scalar?.string == "never" ? nil : try number(value, key)
                case "maxClients": camera.maxClients = try integer(value, key)
                case "maxFps": camera.maxFps = try number(value, key)
                case "heartbeat": camera.heartbeat = try number(value, key)
                case "stallTimeout": camera.stallTimeout = try number(value, key)
                case "users":
                    guard let list = value.sequence else {
                        throw fail(key, "must be a list of user names, such as users: [alice, bob]")
                    }
                    var users: [String] = []
                    for item in list { users.append(try string(item, key)) }
                    camera.users = users
                case "record": camera.record = try record(value, key)
                case "placeholder":
                    // `off` and `on` as YAML booleans too.
                    guard let text = value.scalar?.string, !text.isEmpty else {
                        throw fail(key, "must be on, off, or a JPEG file to show instead of the generated picture")
                    }
                    camera.placeholder = text
                case "controls": camera.controls = try controls(value, key)
                case "timeshift":
                    let text = try string(value, key)
                    guard let setting = TimeshiftSetting(text) else {
                        throw fail(key, "must be a time such as 30s, a size such as 100MB, or off; not '\(text)'")
                    }
                    camera.timeshift = setting
                default: break
                }
            }
            guard !camera.driver.isEmpty else {
                throw fail("driver", "is missing: every camera needs one, such as driver: v4l2")
            }
            return camera
        }

        /// `controls: { exposure_auto: 1, focus_absolute: 30, white_balance_automatic: false }`.
        func controls(_ node: Node, _ key: String) throws(ConfigurationFileError) -> [String: Int] {
            var controls: [String: Int] = [:]
            for (name, valueNode) in try mapping(node, "controls", known: []) {
                guard ControlSettings.isValidName(name) else {
                    throw fail(
                        key,
                        "'\(name)' is not a control name: use lowercase letters, digits and _, as v4l2-ctl "
                            + "--list-ctrls shows them (such as exposure_auto)"
                    )
                }
                if valueNode.scalar != nil, let number = valueNode.int {
                    controls[name] = number
                } else if valueNode.scalar != nil, let flag = valueNode.bool {
                    controls[name] = flag ? 1 : 0
                } else {
                    throw fail(
                        key,
                        "\(name) must be a whole number or true/false, not '\(valueNode.scalar?.string ?? "a list or mapping")'"
                    )
                }
            }
            return controls
        }

        /// `record: { path: …, segment: 60s, durability: 1s, keep: { days: 7, bytes: 20GB }, minFree: 5% }`, or
        /// `record: PATH` alone.
        func record(_ node: Node, _ key: String) throws(ConfigurationFileError) -> RecordingSettings {
            if node.scalar != nil { return RecordingSettings(path: try string(node, key)) }
            var settings = RecordingSettings(path: "")
            for (part, value) in try mapping(node, "record", known: RecordingSettings.keys) {
                switch part {
                case "path": settings.path = try string(value, part)
                case "segment", "durability":
                    let text = try string(value, part)
                    guard let seconds = RecordingSettings.seconds(text) else {
                        throw fail(key, "\(part) must be a time such as 60s, not '\(text)'")
                    }
                    if part == "segment" { settings.segment = seconds } else { settings.durability = seconds }
                case "keep":
                    for (limit, limitValue) in try mapping(value, "record.keep", known: ["days", "bytes"]) {
                        if limit == "days" {
                            settings.keepDays = try number(limitValue, "days")
                        } else {
                            let text = try string(limitValue, limit)
                            guard let bytes = RecordingSettings.bytes(text) else {
                                throw fail(key, "keep.bytes must be a size such as 20GB, not '\(text)'")
                            }
                            settings.keepBytes = bytes
                        }
                    }
                default:
                    let text = try string(value, part)
                    guard let amount = RecordingSettings.amount(text) else {
                        throw fail(key, "minFree must be a share such as 5% or a size such as 2GB, not '\(text)'")
                    }
                    settings.minFree = amount
                }
            }
            guard !settings.path.isEmpty else {
                throw fail(key, "needs a path, such as record: { path: /var/lib/framestream }")
            }
            return settings
        }
    }
}

/// A configuration file that cannot be used, with the file, the camera and the key named.
struct ConfigurationFileError: Error, Equatable, CustomStringConvertible {
    var file: String
    var camera: String?
    var key: String?
    var message: String

    /// `cams.yaml: camera 'front': key 'fps': must be a number, not 'fast'`.
    var description: String {
        var parts = [file]
        if let camera { parts.append("camera '\(camera)'") }
        if let key { parts.append("key '\(key)'") }
        return parts.joined(separator: ": ") + ": " + message
    }
}
