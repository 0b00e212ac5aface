// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import CV4L2
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension V4L2Device {
    /// A control as the device numbers it, and as users see it.
    struct ControlEntry {
        let id: UInt32
        var control: CameraControl
    }

    /// Every control of the device, in its order (VIDIOC_QUERYCTRL with V4L2_CTRL_FLAG_NEXT_CTRL), with its menu
    /// items (VIDIOC_QUERYMENU) and current value (VIDIOC_G_CTRL). Disabled controls, class headings and kinds this
    /// library does not set (64-bit, strings, bitmasks, arrays) are left out. A device without controls has none.
    func queryControls() throws(V4L2Error) -> [ControlEntry] {
        var entries: [ControlEntry] = []
        var next = CV4L2_CTRL_FLAG_NEXT_CTRL
        // A driver that ignores NEXT_CTRL would answer the same control for ever: stop when the id does not grow.
        var lastID: UInt32 = 0
        for _ in 0..<1024 {
            var query = v4l2_queryctrl()
            query.id = next
            let failure = tryControl(CV4L2_VIDIOC_QUERYCTRL, &query)
            if failure == EINVAL || failure == ENOTTY { break }
            guard failure == 0 else { throw error(for: "VIDIOC_QUERYCTRL", errno: failure) }
            guard query.id > lastID else { break }
            lastID = query.id
            next = query.id | CV4L2_CTRL_FLAG_NEXT_CTRL
            if query.flags & CV4L2_CTRL_FLAG_DISABLED != 0 { continue }
            guard let kind = Self.kind(of: query.type) else { continue }
            let label = withUnsafeBytes(of: query.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let menu = kind == .menu || kind == .integerMenu ? menuItems(of: query, integers: kind == .integerMenu) : []
            let writeOnly = query.flags & CV4L2_CTRL_FLAG_WRITE_ONLY != 0
            let current = try (kind == .button || writeOnly ? nil : value(of: query.id))
            let control = CameraControl(
                name: CameraControl.name(forLabel: label),
                label: label,
                kind: kind,
                minimum: Int(query.minimum),
                maximum: Int(query.maximum),
                step: Int(query.step),
                defaultValue: Int(query.default_value),
                value: current,
                menu: menu,
                isReadOnly: query.flags & CV4L2_CTRL_FLAG_READ_ONLY != 0,
                isInactive: query.flags & CV4L2_CTRL_FLAG_INACTIVE != 0
            )
            entries.append(ControlEntry(id: query.id, control: control))
        }
        return entries
    }

    /// The control's value, or `nil` if the device does not say (VIDIOC_G_CTRL fails other than by unplugging).
    func value(of id: UInt32) throws(V4L2Error) -> Int? {
        var control = v4l2_control()
        control.id = id
        let failure = tryControl(CV4L2_VIDIOC_G_CTRL, &control)
        if failure == ENODEV || failure == ENXIO { throw .unplugged(path) }
        return failure == 0 ? Int(control.value) : nil
    }

    /// Sets a control (VIDIOC_S_CTRL), with the device's refusals in words.
    func setValue(_ value: Int, of entry: ControlEntry) throws(CameraControlError) {
        var control = v4l2_control()
        control.id = entry.id
        control.value = Int32(clamping: value)
        switch tryControl(CV4L2_VIDIOC_S_CTRL, &control) {
        case 0: return
        case ERANGE: throw .valueOutOfRange(entry.control, value: value)
        case EINVAL:
            // A value the driver does not take (a menu index it skips, say); the range was checked before.
            throw .refused(entry.control, value: value, reason: "the driver does not take this value")
        case EACCES: throw .refused(entry.control, value: value, reason: "the driver does not allow setting it now")
        case EBUSY: throw .refused(entry.control, value: value, reason: "another program holds this control")
        case let failure:
            throw .refused(entry.control, value: value, reason: error(for: "VIDIOC_S_CTRL", errno: failure).description)
        }
    }

    private func menuItems(of query: v4l2_queryctrl, integers: Bool) -> [CameraControl.MenuItem] {
        guard query.minimum >= 0, query.maximum >= query.minimum, query.maximum - query.minimum < 256 else {
            return []
        }
        var items: [CameraControl.MenuItem] = []
        let capacity = 33
        var name = [CChar](repeating: 0, count: capacity)
        for index in query.minimum...query.maximum {
            var number: Int64 = 0
            // An index the driver skips fails with EINVAL: it is no choice.
            guard cv4l2_querymenu(fd, query.id, UInt32(index), &name, capacity, &number) == 0 else { continue }
            let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            items.append(
                integers
                    ? CameraControl.MenuItem(index: Int(index), name: "\(number)", number: Int(number))
                    : CameraControl.MenuItem(index: Int(index), name: text)
            )
        }
        return items
    }

    private static func kind(of type: UInt32) -> CameraControl.Kind? {
        switch type {
        case CV4L2_CTRL_TYPE_INTEGER: .integer
        case CV4L2_CTRL_TYPE_BOOLEAN: .boolean
        case CV4L2_CTRL_TYPE_MENU: .menu
        case CV4L2_CTRL_TYPE_INTEGER_MENU: .integerMenu
        case CV4L2_CTRL_TYPE_BUTTON: .button
        default: nil  // class headings, 64-bit integers, strings, bitmasks, compound controls
        }
    }
}
#endif
