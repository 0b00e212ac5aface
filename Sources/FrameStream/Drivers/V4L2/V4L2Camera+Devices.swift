// V4L2 exists on Linux only; without it (other systems, or FRAMESTREAM_NO_V4L2=1) the driver is left out.
#if FRAMESTREAM_V4L2
import Foundation

extension V4L2Camera {
    /// A capture device and what it offers.
    public struct DeviceInfo: Sendable, Hashable, CustomStringConvertible {
        /// One pixel format with its sizes and, per size, its frame rates.
        public struct Format: Sendable, Hashable {
            /// The four-character code, such as `MJPG` or `YUYV`.
            public var code: String
            /// Sizes with their frame rates.
            public var sizes: [SizeRates]
        }

        /// A frame size and the frame rates offered at it.
        public struct SizeRates: Sendable, Hashable {
            /// The frame size.
            public var size: FrameSize
            /// Frames per second.
            public var rates: [Double]
        }

        /// The device path.
        public var path: String
        /// The device's name.
        public var card: String
        /// Its capture formats.
        public var formats: [Format]

        /// A few lines for a terminal: the path and name, then each format with its sizes and rates.
        public var description: String {
            var lines = ["\(path): \(card)"]
            for format in formats {
                let sizes = format.sizes.map { entry in
                    let rates = entry.rates.map { $0.rounded() == $0 ? "\(Int($0))" : "\($0)" }
                    return "\(entry.size)" + (rates.isEmpty ? "" : "@" + rates.joined(separator: "/"))
                }
                lines.append("  \(format.code): \(sizes.joined(separator: " "))")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// The capture devices among `paths` (every `/dev/video*` by default) with their formats, sizes and rates;
    /// devices that cannot be opened or do not capture are left out.
    public static func listDevices(paths: [String]? = nil) -> [DeviceInfo] {
        let candidates =
            paths
            ?? ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? [])
            .filter { $0.hasPrefix("video") }
            .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
            .map { "/dev/\($0)" }
        return candidates.compactMap { path in
            guard let device = try? V4L2Device(path: path), let capabilities = try? device.capabilities(),
                capabilities.capture
            else { return nil }
            let formats = device.formats().map { code in
                DeviceInfo.Format(
                    code: fourCharacterCode(code),
                    sizes: device.sizes(for: code).map { size in
                        DeviceInfo.SizeRates(size: size, rates: device.rates(for: code, size: size))
                    }
                )
            }
            return DeviceInfo(path: path, card: capabilities.card, formats: formats)
        }
    }
}
#endif
