/// The formats a time range exports to: `export.mkv`, `export.mjpeg`, `export.zip`.
enum ExportFormat: String, CaseIterable, Sendable {
    /// Matroska with the JPEGs as `V_MJPEG` and their capture times: plays in VLC and ffmpeg.
    case mkv
    /// The Motion-JPEG multipart stream, as the live stream sends it.
    case mjpeg
    /// A ZIP of the JPEG files, named by capture time.
    case zip

    func contentType(boundary: String) -> String {
        switch self {
        case .mkv: "video/x-matroska"
        case .mjpeg: "multipart/x-mixed-replace; boundary=\(boundary)"
        case .zip: "application/zip"
        }
    }

    /// `front-20261201T100000Z-20261201T100500Z.mkv`.
    static func fileName(camera: String, start: Int64, end: Int64, format: ExportFormat) -> String {
        let safe = String(camera.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return "\(safe)-\(compact(start))-\(compact(end)).\(format.rawValue)"
    }

    /// `20261201T100000Z`: a time for file names.
    static func compact(_ micros: Int64) -> String {
        let text = PlaybackTime.format(micros)
        return String(text.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
    }
}
