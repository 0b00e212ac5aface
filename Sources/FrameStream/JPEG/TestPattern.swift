import Foundation

/// One frame of ``TestPatternCamera``: diagonal bars that move a few pixels a frame over a colour gradient, with
/// the frame number and the UTC capture time written in the top-left corner.
struct TestPattern {
    let frame: Int
    let time: Date

    func encode(with encoder: JPEGEncoder) throws -> [UInt8] {
        let width = encoder.width
        let height = encoder.height
        let label = Self.label(frame: frame, time: time)
        let jpeg = try encoder.encodeYUV422 { luma, blue, red in
            let chromaWidth = (width + 1) / 2
            let shift = frame * 4
            for row in 0..<height {
                let base = row * width
                for column in 0..<width {
                    luma[base + column] = ((column + row + shift) / 40) % 2 == 0 ? 200 : 70
                }
                let chromaBase = row * chromaWidth
                let redValue = UInt8(64 + row * 128 / height)
                for column in 0..<chromaWidth {
                    blue[chromaBase + column] = UInt8(64 + column * 128 / chromaWidth)
                    red[chromaBase + column] = redValue
                }
            }
            Self.draw(label, into: luma, width: width, height: height)
        }
        return Self.insertComment(
            "\(TestPatternCamera.timestampPrefix)\(Int64((time.timeIntervalSince1970 * 1e9).rounded()))",
            into: jpeg
        )
    }

    /// `#000042 12:34:56.789`
    static func label(frame: Int, time: Date) -> String {
        let millisecondsToday = Int((time.timeIntervalSince1970 * 1000).rounded(.down)) % 86_400_000
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let hours = millisecondsToday / 3_600_000
        let minutes = millisecondsToday / 60_000 % 60
        let seconds = millisecondsToday / 1000 % 60
        let milliseconds = millisecondsToday % 1000
        let number = String(frame % 1_000_000)
        return
            "#\(String(repeating: "0", count: 6 - number.count))\(number) \(two(hours)):\(two(minutes)):\(two(seconds))."
            + "\(milliseconds < 100 ? "0" : "")\(milliseconds < 10 ? "0" : "")\(milliseconds)"
    }

    /// Writes text in a 5x7 pixel font, scaled, white on a black box, in the top-left corner.
    static func draw(_ text: String, into luma: UnsafeMutableBufferPointer<UInt8>, width: Int, height: Int) {
        let scale = max(1, width / 320)
        let glyphWidth = 6 * scale
        let boxWidth = min(width, (text.count * glyphWidth) + 4 * scale)
        let boxHeight = min(height, 11 * scale)
        for row in 0..<boxHeight {
            for column in 0..<boxWidth { luma[row * width + column] = 16 }
        }
        for (position, character) in text.enumerated() {
            guard let rows = glyphs[character] else { continue }
            for (glyphRow, bits) in rows.enumerated() {
                for glyphColumn in 0..<5 where bits & (0b10000 >> glyphColumn) != 0 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let x = 2 * scale + position * glyphWidth + glyphColumn * scale + dx
                            let y = 2 * scale + glyphRow * scale + dy
                            if x < width, y < height { luma[y * width + x] = 235 }
                        }
                    }
                }
            }
        }
    }

    /// Puts a comment segment right after the start-of-image marker.
    static func insertComment(_ text: String, into jpeg: [UInt8]) -> [UInt8] {
        let payload = Array(text.utf8)
        let length = payload.count + 2
        var result = [UInt8]()
        result.reserveCapacity(jpeg.count + length + 2)
        result.append(contentsOf: jpeg[0..<2])
        result.append(contentsOf: [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)])
        result.append(contentsOf: payload)
        result.append(contentsOf: jpeg[2...])
        return result
    }

    /// Digits and the few signs the label needs, five bits a row, seven rows.
    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        "#": [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
    ]
}
