/// Where JPEG images start and end in a stream of bytes.
enum JPEGMarkers {
    /// The length of a complete JPEG at the start of `bytes` — up to and including its end-of-image marker
    /// (`FF D9`), ignoring the padding some cameras add after it — or `nil` if it does not start with `FF D8` or
    /// has no end marker.
    static func endOfImage(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var index = bytes.count - 1
        let lowest = max(2, bytes.count - 4096)
        while index > lowest {
            if bytes[index] == 0xD9, bytes[index - 1] == 0xFF { return index + 1 }
            guard bytes[index] == 0 || bytes[index] == 0xFF || bytes[index] == 0xD9 else { return nil }
            index -= 1
        }
        return nil
    }

    /// The width and height in the frame header (a start-of-frame segment: `FF C0` to `FF CF` except `C4`, `C8`
    /// and `CC`) of the JPEG at the start of `bytes`, or `nil` if it does not start with `FF D8`, has no frame
    /// header before its first scan, or gives a height of zero (to be defined later by a `DNL` marker).
    static func pixelSize(in bytes: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var index = 2
        while index + 3 < bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            switch marker {
            case 0xFF:
                index += 1  // fill byte
                continue
            case 0x01, 0xD0...0xD7:
                index += 2  // no length
                continue
            case 0xD8, 0xD9, 0xDA, 0x00:
                return nil
            default:
                break
            }
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            guard length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                // Length (2), sample precision (1), height (2), width (2).
                guard length >= 7, index + 8 < bytes.count else { return nil }
                let height = Int(bytes[index + 5]) << 8 | Int(bytes[index + 6])
                let width = Int(bytes[index + 7]) << 8 | Int(bytes[index + 8])
                return height > 0 && width > 0 ? (width, height) : nil
            }
            index += 2 + length
        }
        return nil
    }
}
