import Foundation

/// A folder of JPEG files, read in file-name order.
struct JPEGFolder {
    let path: String

    /// Every `*.jpg` and `*.jpeg` file in the folder, sorted by name, each checked to start with the JPEG start marker
    /// and to end with the end marker (a file cut short is refused rather than served).
    func readImages() throws -> [[UInt8]] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw CameraError.unreadableFile(path: path, reason: "no such folder, or it cannot be read")
        }
        let jpegNames = names.filter { ["jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        guard !jpegNames.isEmpty else { throw CameraError.noImages(directory: path) }
        return try jpegNames.map { name in
            let file = (path as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CameraError.unreadableFile(path: file, reason: "permission denied or not a regular file")
            }
            let bytes = [UInt8](data)
            guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw CameraError.notJPEG(path: file) }
            let ends = bytes.withUnsafeBytes { JPEGMarkers.endOfImage(in: $0) != nil }
            guard ends else { throw CameraError.truncatedJPEG(path: file) }
            return bytes
        }
    }
}
