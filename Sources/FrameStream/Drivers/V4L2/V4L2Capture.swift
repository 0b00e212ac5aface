// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import CV4L2
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One run of a V4L2 camera on its capture thread: open, set the format, map the buffers, stream, and release it
/// all again.
struct V4L2Capture {
    let configuration: V4L2Camera.Configuration
    /// Set on the device at each start, after the format and rate, before streaming.
    let controls: V4L2RequestedControls
    let logger: Logger
    /// How frames are turned: raw ones in the encoder, Motion-JPEG ones by a lossless transform.
    var orientation = FrameOrientation.upright

    private enum Delivery {
        case passThrough
        case transform(JPEGTransformer)
        case encodeYUYV(JPEGEncoder, bytesPerLine: Int)
        case encodeI420(JPEGEncoder, bytesPerLine: Int)
    }

    private struct MappedBuffer {
        let start: UnsafeMutableRawPointer
        let length: Int
    }

    func run(_ sink: CaptureSink, dropped: V4L2Camera.DropCounter) throws {
        let path = configuration.device
        let device = try V4L2Device(path: path)
        let capabilities = try device.capabilities()
        guard capabilities.capture else { throw V4L2Error.notCaptureDevice(path, card: capabilities.card) }
        guard capabilities.streaming else {
            throw V4L2Error.callFailed(path, call: "streaming I/O", errno: ENOTSUP, message: "not supported by device")
        }
        let delivery = try chooseFormat(device)
        setFrameRate(device)
        try controls.apply(to: device, logger: logger)

        var request = v4l2_requestbuffers()
        request.count = UInt32(configuration.bufferCount)
        request.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        request.memory = CV4L2_MEMORY_MMAP
        try device.control(CV4L2_VIDIOC_REQBUFS, "VIDIOC_REQBUFS", &request)
        var buffers: [MappedBuffer] = []
        var streaming = false
        defer {
            if streaming {
                var type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
                _ = device.tryControl(CV4L2_VIDIOC_STREAMOFF, &type)
            }
            for buffer in buffers { _ = cv4l2_munmap(buffer.start, buffer.length) }
            var release = v4l2_requestbuffers()
            release.count = 0
            release.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            release.memory = CV4L2_MEMORY_MMAP
            _ = device.tryControl(CV4L2_VIDIOC_REQBUFS, &release)
        }
        for index in 0..<Int(request.count) {
            var buffer = v4l2_buffer()
            buffer.index = UInt32(index)
            buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            buffer.memory = CV4L2_MEMORY_MMAP
            try device.control(CV4L2_VIDIOC_QUERYBUF, "VIDIOC_QUERYBUF", &buffer)
            guard let start = cv4l2_mmap(device.fd, Int(buffer.length), Int64(buffer.m.offset)),
                cv4l2_map_failed(start) == 0
            else {
                throw device.error(for: "mmap", errno: errno)
            }
            buffers.append(MappedBuffer(start: start, length: Int(buffer.length)))
            try device.control(CV4L2_VIDIOC_QBUF, "VIDIOC_QBUF", &buffer)
        }
        var type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        try device.control(CV4L2_VIDIOC_STREAMON, "VIDIOC_STREAMON", &type)
        streaming = true

        var lastFrame = ContinuousClock.now
        while !sink.isStopping {
            guard device.waitForFrame(milliseconds: 100) else {
                if ContinuousClock.now - lastFrame > configuration.stallTimeout {
                    throw V4L2Error.stalled(path, seconds: Int(configuration.stallTimeout.components.seconds))
                }
                continue
            }
            var buffer = v4l2_buffer()
            buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            buffer.memory = CV4L2_MEMORY_MMAP
            let failure = device.tryControl(CV4L2_VIDIOC_DQBUF, &buffer)
            if failure == EAGAIN { continue }
            guard failure == 0 else { throw device.error(for: "VIDIOC_DQBUF", errno: failure) }
            lastFrame = ContinuousClock.now
            let mapped = buffers[Int(buffer.index)]
            let bytes = UnsafeRawBufferPointer(start: mapped.start, count: min(Int(buffer.bytesused), mapped.length))
            if buffer.flags & CV4L2_BUF_FLAG_ERROR != 0 {
                dropped.add()
            } else if let image = try makeImage(bytes, delivery: delivery) {
                sink.deliver(image)
            } else {
                dropped.add()
            }
            try device.control(CV4L2_VIDIOC_QBUF, "VIDIOC_QBUF", &buffer)
        }
    }

    /// Motion-JPEG at the asked size if the device has it, else YUYV to encode, else planar YUV 4:2:0 that libv4l2
    /// converts from whatever raw format the device has.
    private func chooseFormat(_ device: V4L2Device) throws -> Delivery {
        let offered = device.formats()
        for pixelFormat in [CV4L2_PIX_FMT_MJPEG, CV4L2_PIX_FMT_JPEG, CV4L2_PIX_FMT_YUYV, CV4L2_PIX_FMT_YUV420] {
            var format = v4l2_format()
            format.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            format.fmt.pix.width = UInt32(configuration.size.width)
            format.fmt.pix.height = UInt32(configuration.size.height)
            format.fmt.pix.pixelformat = pixelFormat
            format.fmt.pix.field = CV4L2_FIELD_ANY
            let failure = device.tryControl(CV4L2_VIDIOC_S_FMT, &format)
            if failure == EBUSY { throw V4L2Error.deviceBusy(device.path) }
            if failure == ENODEV { throw V4L2Error.unplugged(device.path) }
            guard failure == 0, format.fmt.pix.pixelformat == pixelFormat else { continue }
            let width = Int(format.fmt.pix.width)
            let height = Int(format.fmt.pix.height)
            switch pixelFormat {
            case CV4L2_PIX_FMT_YUYV:
                let encoder = try JPEGEncoder(
                    width: width,
                    height: height,
                    quality: configuration.quality,
                    orientation: orientation
                )
                return .encodeYUYV(encoder, bytesPerLine: max(Int(format.fmt.pix.bytesperline), width * 2))
            case CV4L2_PIX_FMT_YUV420:
                let encoder = try JPEGEncoder(
                    width: width,
                    height: height,
                    quality: configuration.quality,
                    orientation: orientation
                )
                return .encodeI420(encoder, bytesPerLine: max(Int(format.fmt.pix.bytesperline), width))
            default:
                return orientation.isUpright ? .passThrough : .transform(try JPEGTransformer(orientation: orientation))
            }
        }
        throw V4L2Error.formatUnsupported(device.path, offered: offered.map(fourCharacterCode))
    }

    private func setFrameRate(_ device: V4L2Device) {
        var parameters = v4l2_streamparm()
        parameters.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        parameters.parm.capture.timeperframe.numerator = 1000
        parameters.parm.capture.timeperframe.denominator = UInt32((configuration.framesPerSecond * 1000).rounded())
        _ = device.tryControl(CV4L2_VIDIOC_S_PARM, &parameters)
    }

    /// The frame as a JPEG, or `nil` for an incomplete one.
    private func makeImage(_ bytes: UnsafeRawBufferPointer, delivery: Delivery) throws -> JPEGImage? {
        switch delivery {
        case .passThrough:
            guard let end = JPEGMarkers.endOfImage(in: bytes) else { return nil }
            return JPEGImage(bytes: [UInt8](bytes[..<end]))
        case .transform(let transformer):
            guard let end = JPEGMarkers.endOfImage(in: bytes) else { return nil }
            // A frame libturbojpeg cannot read is dropped and counted, like an incomplete one.
            return (try? transformer.transform(UnsafeRawBufferPointer(rebasing: bytes[..<end]))).map {
                JPEGImage(bytes: $0)
            }
        case .encodeYUYV(let encoder, let bytesPerLine):
            return JPEGImage(bytes: try encoder.encodeYUYV(bytes, bytesPerLine: bytesPerLine))
        case .encodeI420(let encoder, let bytesPerLine):
            return JPEGImage(bytes: try encoder.encodeI420(bytes, bytesPerLine: bytesPerLine))
        }
    }
}
#endif
