import Foundation

/// The page at `/`: a title and the stream in an `<img>`, as in the article; no JavaScript needed.
enum CameraPage {
    static func html(title: String) -> String {
        let title = escaped(title)
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>
            body { margin: 0; background: #111; color: #eee; font-family: system-ui, sans-serif; text-align: center; }
            h1 { font-size: 1.2rem; font-weight: 500; margin: 0.8rem; }
            img { max-width: 100vw; max-height: calc(100vh - 5rem); background: #000; }
            a { color: #9cf; }
            </style>
            </head>
            <body>
            <h1>\(title)</h1>
            <img src="/video_feed" alt="live camera stream">
            <p><a href="/snapshot.jpg">snapshot</a> · <a href="/status">status</a></p>
            </body>
            </html>

            """
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
