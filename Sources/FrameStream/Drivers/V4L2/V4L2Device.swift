// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import CV4L2
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An open V4L2 device through libv4l2: a thin, throwing wrapper over its calls. Not thread-safe; used by one
/// capture loop.
final class V4L2Device {
    let path: String
    let fd: Int32

    /// Opens the device, non-blocking, mapping the usual failures to ``V4L2Error``.
    init(path: String) throws(V4L2Error) {
        self.path = path
        let fd = cv4l2_open(path, O_RDWR | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT, ENODEV, ENXIO: throw .deviceMissing(path)
            case EBUSY: throw .deviceBusy(path)
            case EACCES, EPERM: throw .permissionDenied(path)
            default: throw .callFailed(path, call: "open", errno: code, message: String(cString: strerror(code)))
            }
        }
        self.fd = fd
    }

    deinit {
        _ = cv4l2_close(fd)
    }

    /// Runs an ioctl, retrying when interrupted; throws with the call's name on failure.
    @discardableResult
    func control<Argument>(_ request: UInt, _ name: String, _ argument: inout Argument) throws(V4L2Error) -> Int32 {
        var result: Int32
        repeat {
            result = withUnsafeMutablePointer(to: &argument) { cv4l2_ioctl(fd, request, $0) }
        } while result < 0 && errno == EINTR
        guard result >= 0 else { throw error(for: name, errno: errno) }
        return result
    }

    /// Like ``control(_:_:_:)``, but returns the errno instead of throwing (0 on success).
    func tryControl<Argument>(_ request: UInt, _ argument: inout Argument) -> Int32 {
        var result: Int32
        repeat {
            result = withUnsafeMutablePointer(to: &argument) { cv4l2_ioctl(fd, request, $0) }
        } while result < 0 && errno == EINTR
        return result < 0 ? errno : 0
    }

    func error(for call: String, errno code: Int32) -> V4L2Error {
        switch code {
        case ENODEV, ENXIO: .unplugged(path)
        case EBUSY: .deviceBusy(path)
        default: .callFailed(path, call: call, errno: code, message: String(cString: strerror(code)))
        }
    }

    /// The device's capabilities and name.
    func capabilities() throws(V4L2Error) -> (card: String, capture: Bool, streaming: Bool) {
        var caps = v4l2_capability()
        try control(CV4L2_VIDIOC_QUERYCAP, "VIDIOC_QUERYCAP", &caps)
        let card = withUnsafeBytes(of: caps.card) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let flags = caps.capabilities & CV4L2_CAP_DEVICE_CAPS != 0 ? caps.device_caps : caps.capabilities
        return (card, flags & CV4L2_CAP_VIDEO_CAPTURE != 0, flags & CV4L2_CAP_STREAMING != 0)
    }

    /// The pixel formats the device itself offers, as four-character codes (not those libv4l2 emulates).
    func formats() -> [UInt32] {
        var result: [UInt32] = []
        for index in 0..<64 {
            var description = v4l2_fmtdesc()
            description.index = UInt32(index)
            description.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            guard tryControl(CV4L2_VIDIOC_ENUM_FMT, &description) == 0 else { break }
            if description.flags & CV4L2_FMT_FLAG_EMULATED == 0 {
                result.append(description.pixelformat)
            }
        }
        return result
    }

    /// The discrete frame sizes the device offers for a format.
    func sizes(for format: UInt32) -> [FrameSize] {
        var result: [FrameSize] = []
        for index in 0..<64 {
            var size = v4l2_frmsizeenum()
            size.index = UInt32(index)
            size.pixel_format = format
            guard tryControl(CV4L2_VIDIOC_ENUM_FRAMESIZES, &size) == 0 else { break }
            guard size.type == CV4L2_FRMSIZE_TYPE_DISCRETE else {
                result.append(FrameSize(width: Int(size.stepwise.max_width), height: Int(size.stepwise.max_height)))
                break
            }
            result.append(FrameSize(width: Int(size.discrete.width), height: Int(size.discrete.height)))
        }
        return result
    }

    /// The discrete frame rates the device offers for a format and size.
    func rates(for format: UInt32, size: FrameSize) -> [Double] {
        var result: [Double] = []
        for index in 0..<32 {
            var interval = v4l2_frmivalenum()
            interval.index = UInt32(index)
            interval.pixel_format = format
            interval.width = UInt32(size.width)
            interval.height = UInt32(size.height)
            guard tryControl(CV4L2_VIDIOC_ENUM_FRAMEINTERVALS, &interval) == 0,
                interval.type == CV4L2_FRMIVAL_TYPE_DISCRETE, interval.discrete.numerator > 0
            else { break }
            result.append(Double(interval.discrete.denominator) / Double(interval.discrete.numerator))
        }
        return result
    }

    /// Waits up to `milliseconds` for a frame; returns whether one is ready (or the device reports an error, which
    /// the next dequeue then reads).
    func waitForFrame(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let result = poll(&descriptor, 1, milliseconds)
        return result > 0
    }
}

/// A four-character code as text, such as `MJPG`.
func fourCharacterCode(_ code: UInt32) -> String {
    String(decoding: (0..<4).map { UInt8((code >> (8 * $0)) & 0xFF) }, as: UTF8.self)
}
#endif
