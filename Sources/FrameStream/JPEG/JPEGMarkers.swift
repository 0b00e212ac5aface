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
}
