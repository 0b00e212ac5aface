/*
 * v4l2_stand_in.h - stand-in V4L2 capture device for tests.
 *
 * libV4L2StandIn.so is loaded with LD_PRELOAD. It interposes open/openat
 * (and their 64-bit and _2 variants), close, read, ioctl, mmap, munmap,
 * poll/ppoll and syscall(), so that opening the configured device path
 * yields a fake UVC-like capture device and every other path, fd and
 * syscall goes to the real libc/kernel unchanged. Nothing needs to be called:
 * this header only names the environment variables (see README.md).
 */
#ifndef V4L2_STAND_IN_H
#define V4L2_STAND_IN_H

/* Device path prefix. The device is "<prefix>" or "<prefix>0"; any other
 * path starting with the prefix fails with ENOENT.
 * Default: V4L2_STAND_IN_DEFAULT_DEVICE. */
#define V4L2_STAND_IN_ENV_DEVICE "V4L2_STAND_IN_DEVICE"
#define V4L2_STAND_IN_DEFAULT_DEVICE "/dev/video-stand-in"

/* Comma list of "MJPG" and/or "YUYV", in ENUM_FMT order. Default "MJPG,YUYV". */
#define V4L2_STAND_IN_ENV_FORMATS "V4L2_STAND_IN_FORMATS"

/* Path of the JPEG file sent as every MJPEG frame. STREAMON in MJPEG fails
 * with EIO when unset or unreadable. */
#define V4L2_STAND_IN_ENV_JPEG "V4L2_STAND_IN_JPEG"

/* Extra bytes at the end of every YUYV row (filled with 0xEE).
 * bytesperline = width * 2 + pad. Default 0. */
#define V4L2_STAND_IN_ENV_PAD "V4L2_STAND_IN_PAD"

/* Frames per second actually produced, overriding the negotiated
 * timeperframe (which G_PARM still reports). Decimal, e.g. "120" or "7.5". */
#define V4L2_STAND_IN_ENV_FPS "V4L2_STAND_IN_FPS"

/* Comma list of faults: busy, busy-open, not-capture, corrupt-every=N,
 * truncated-every=N, stall-after=N. */
#define V4L2_STAND_IN_ENV_FAULTS "V4L2_STAND_IN_FAULTS"

/* Control folder. While "<folder>/unplugged" exists the device is unplugged.
 * "<folder>/faults", if present, is read at open like V4L2_STAND_IN_FAULTS. */
#define V4L2_STAND_IN_ENV_CONTROL "V4L2_STAND_IN_CONTROL"
#define V4L2_STAND_IN_CONTROL_UNPLUGGED "unplugged"
#define V4L2_STAND_IN_CONTROL_FAULTS "faults"

/* File that receives one line per event (appended, written whole). */
#define V4L2_STAND_IN_ENV_LOG "V4L2_STAND_IN_LOG"

/* When set to a non-empty value other than "0", every call on a fake fd is
 * traced to stderr. */
#define V4L2_STAND_IN_ENV_TRACE "V4L2_STAND_IN_TRACE"

/* Interval between checks of the control folder, in milliseconds. */
#define V4L2_STAND_IN_CONTROL_POLL_MS 20

/* YUYV test pattern: for pixel column x of a frame of width W,
 * Y = V4L2_STAND_IN_PATTERN_Y(x, W), U = V = 128, on every row. */
#define V4L2_STAND_IN_PATTERN_Y(x, width) ((unsigned)(x) * 255u / (unsigned)(width))
#define V4L2_STAND_IN_PATTERN_UV 128u
#define V4L2_STAND_IN_PAD_BYTE 0xEEu

/* Version of the behaviour described in README.md. */
enum { V4L2_STAND_IN_VERSION = 2 };

#endif /* V4L2_STAND_IN_H */
