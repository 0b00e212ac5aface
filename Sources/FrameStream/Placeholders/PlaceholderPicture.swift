/// Draws a placeholder frame: lines of text, centred, light on a dark gray canvas, encoded as a JPEG.
enum PlaceholderPicture {
    /// The sizes a placeholder may have; a stream's own size is kept inside them.
    static let widths = 160...4096
    static let heights = 120...4096

    /// A JPEG of `size` (made even, and kept within ``widths`` and ``heights``) showing `lines`: the first line
    /// larger, long lines wrapped, lines that do not fit left out.
    static func jpeg(lines: [String], size: FrameSize, quality: Int = 75) throws(JPEGError) -> [UInt8] {
        let width = min(max(size.width, widths.lowerBound), widths.upperBound) & ~1
        let height = min(max(size.height, heights.lowerBound), heights.upperBound) & ~1
        var luma = [UInt8](repeating: 40, count: width * height)
        draw(lines, into: &luma, width: width, height: height)
        let chroma = (width / 2) * (height / 2)
        var planes = luma
        planes.append(contentsOf: repeatElement(128, count: 2 * chroma))
        let encoder = try JPEGEncoder(width: width, height: height, quality: quality)
        let encoded = planes.withUnsafeBytes { bytes in
            Result { () throws(JPEGError) in try encoder.encodeI420(bytes, bytesPerLine: width) }
        }
        return try encoded.get()
    }

    /// Draws the lines centred on the canvas.
    static func draw(_ lines: [String], into luma: inout [UInt8], width: Int, height: Int) {
        // The body's scale: about 40 characters across, but at least the font's own size.
        let scale = max(1, width / (40 * PlaceholderFont.cellWidth))
        let titleScale = max(scale, min(width / (24 * PlaceholderFont.cellWidth), scale * 2))
        let margin = PlaceholderFont.cellWidth * scale
        var laidOut: [(text: String, scale: Int)] = []
        for (index, line) in lines.enumerated() {
            let lineScale = index == 0 ? titleScale : scale
            let columns = max(1, (width - 2 * margin) / (PlaceholderFont.cellWidth * lineScale))
            for wrapped in wrap(line, columns: columns) { laidOut.append((wrapped, lineScale)) }
        }
        let lineHeight = { (scale: Int) in PlaceholderFont.cellHeight * scale * 5 / 4 }
        // Lines that do not fit are left out, from the end.
        while laidOut.count > 1, laidOut.reduce(0, { $0 + lineHeight($1.scale) }) > height - margin {
            laidOut.removeLast()
        }
        var y = max(0, (height - laidOut.reduce(0) { $0 + lineHeight($1.scale) }) / 2)
        for (text, lineScale) in laidOut {
            let characters = Array(text)
            let x = max(0, (width - characters.count * PlaceholderFont.cellWidth * lineScale) / 2)
            for (column, character) in characters.enumerated() {
                drawGlyph(
                    character,
                    x: x + column * PlaceholderFont.cellWidth * lineScale,
                    y: y,
                    scale: lineScale,
                    into: &luma,
                    width: width,
                    height: height
                )
            }
            y += lineHeight(lineScale)
        }
    }

    /// The line cut into pieces of at most `columns` characters, at spaces where it can be.
    static func wrap(_ line: String, columns: Int) -> [String] {
        var pieces: [String] = []
        var rest = Substring(line)
        while rest.count > columns {
            let window = rest.prefix(columns + 1)
            let cut = window.lastIndex(of: " ").flatMap { $0 > rest.startIndex ? $0 : nil }
            let end = cut ?? rest.index(rest.startIndex, offsetBy: columns)
            pieces.append(String(rest[..<end]))
            rest = rest[end...].drop(while: { $0 == " " })
        }
        if !rest.isEmpty || pieces.isEmpty { pieces.append(String(rest)) }
        return pieces
    }

    private static func drawGlyph(
        _ character: Character,
        x: Int,
        y: Int,
        scale: Int,
        into luma: inout [UInt8],
        width: Int,
        height: Int
    ) {
        guard let rows = glyphs[character] ?? glyphs["?"] else { return }
        for (row, bits) in rows.enumerated() where bits != 0 {
            for column in 0..<PlaceholderFont.cellWidth where bits & (0x8000 >> UInt16(column)) != 0 {
                for dy in 0..<scale {
                    let py = y + row * scale + dy
                    guard py < height else { break }
                    let start = py * width
                    for dx in 0..<scale {
                        let px = x + column * scale + dx
                        guard px < width else { break }
                        luma[start + px] = 235
                    }
                }
            }
        }
    }

    /// Each character's rows, read once from ``PlaceholderFont/rows``.
    static let glyphs: [Character: [UInt16]] = {
        let digits = PlaceholderFont.rows.unicodeScalars.filter { $0.properties.isASCIIHexDigit }
        var values: [UInt16] = []
        values.reserveCapacity(digits.count / 4)
        var value: UInt16 = 0
        for (index, digit) in digits.enumerated() {
            value = value << 4 | UInt16(Character(digit).hexDigitValue ?? 0)
            if index % 4 == 3 {
                values.append(value)
                value = 0
            }
        }
        var glyphs: [Character: [UInt16]] = [:]
        let height = PlaceholderFont.cellHeight
        for (index, character) in PlaceholderFont.characters.enumerated() where (index + 1) * height <= values.count {
            glyphs[character] = Array(values[index * height..<(index + 1) * height])
        }
        return glyphs
    }()
}
