// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import Logging
import Synchronization

/// The control values a V4L2 camera was asked for, in its configuration and since: set again each time the
/// capture opens the device.
///
/// One lock covers the values and every write of them to the device, by a request or by a start, so that the
/// device always ends with the newest value asked for: a start cannot write an older value after a request's
/// newer one. Writes happen on the capture thread or a thread of their own, never on the cooperative pool.
final class V4L2RequestedControls: Sendable {
    private let values: Mutex<[String: Int]>

    init(_ initial: [String: Int]) {
        values = Mutex(initial)
    }

    /// The values asked for so far.
    var current: [String: Int] { values.withLock { $0 } }

    /// Sets every value asked for on a freshly opened device, switches first. A value the device does not take
    /// (a configuration written for another camera), or controls it cannot list, are logged and skipped: the
    /// camera still streams. Only an unplugged device fails the start.
    func apply(to device: V4L2Device, logger: Logger) throws(V4L2Error) {
        try values.withLock { (values) throws(V4L2Error) in
            guard !values.isEmpty else { return }
            let entries: [V4L2Device.ControlEntry]
            do throws(V4L2Error) {
                entries = try device.queryControls()
            } catch .unplugged(let path) {
                throw .unplugged(path)
            } catch {
                logger.warning("camera controls not set: \(error)", metadata: ["device": "\(device.path)"])
                return
            }
            let controls = entries.map(\.control)
            for (name, value) in CameraControl.settingOrder(values, controls: controls) {
                do throws(CameraControlError) {
                    try CameraControl.check([name: value], against: controls)
                    guard let entry = entries.first(where: { $0.control.name == name }) else { continue }
                    try device.setValue(value, of: entry)
                } catch {
                    logger.warning("camera control not set: \(error)", metadata: ["device": "\(device.path)"])
                }
            }
        }
    }

    /// Opens the device at `path` (a second handle beside the capture's while the camera runs, as `v4l2-ctl`
    /// does), checks `changes`, sets them and remembers them, and returns the controls as they are afterwards.
    func set(_ changes: [String: Int], path: String) throws(CameraControlError) -> [CameraControl] {
        try values.withLock { (values) throws(CameraControlError) in
            let device = try Self.open(path)
            let entries = try Self.query(device)
            try CameraControl.check(changes, against: entries.map(\.control))
            for (name, value) in CameraControl.settingOrder(changes, controls: entries.map(\.control)) {
                guard let entry = entries.first(where: { $0.control.name == name }) else { continue }
                try device.setValue(value, of: entry)
                // A button is an action, not a setting to repeat at every start.
                if entry.control.kind != .button { values[name] = value }
            }
            return try Self.query(device).map(\.control)
        }
    }

    /// The device's controls, read through a handle of their own.
    static func controls(path: String) throws(CameraControlError) -> [CameraControl] {
        try query(try open(path)).map(\.control)
    }

    private static func open(_ path: String) throws(CameraControlError) -> V4L2Device {
        do {
            return try V4L2Device(path: path)
        } catch {
            throw .unavailable(reason: error.description)
        }
    }

    private static func query(_ device: V4L2Device) throws(CameraControlError) -> [V4L2Device.ControlEntry] {
        do {
            return try device.queryControls()
        } catch {
            throw .unavailable(reason: error.description)
        }
    }
}
#endif
