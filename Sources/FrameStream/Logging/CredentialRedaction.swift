/// Hides passwords in text that may hold addresses: a command line (`ffmpeg -i rtsp://admin:secret@cam/…`), or a
/// line a command wrote about it. Every `scheme://user:password@` becomes `scheme://user:***@`, so that errors,
/// `/status` and logs never show the password.
package enum CredentialRedaction {
    /// `text` with the password of every address in it replaced by `***`.
    package static func redacting(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        var index = 0
        while index + 2 < scalars.count {
            guard scalars[index] == ":", scalars[index + 1] == "/", scalars[index + 2] == "/" else {
                index += 1
                continue
            }
            // The authority runs to the first '/', whitespace or quote; its user information to its last '@'.
            let start = index + 3
            var end = start
            while end < scalars.count, !"/ \t\r\n\"'?#".unicodeScalars.contains(scalars[end]) { end += 1 }
            if let at = scalars[start..<end].lastIndex(of: "@"),
                let colon = scalars[start..<at].firstIndex(of: ":"), colon + 1 < at
            {
                scalars.replaceSubrange((colon + 1)..<at, with: "***".unicodeScalars)
                end = end - (at - colon - 1) + 3
            }
            index = end
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }
}
