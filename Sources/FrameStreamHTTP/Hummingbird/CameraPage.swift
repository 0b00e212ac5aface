/// A camera's page: a title and the stream in an `<img>`, as in the article; no JavaScript needed. It links to the
/// camera's ``PlayerPage`` for pausing and rewinding.
///
/// A few lines of script (``reconnectScript``) on top reopen a stream whose connection ended — the server
/// restarted, or the relay behind a load balancer went away — so that the picture comes back by itself; without
/// JavaScript the page works as before, and a reload brings the picture back.
///
/// Its links are relative, so that the page works wherever the camera's routes are mounted.
enum CameraPage {
    static func html(title: String, base: String) -> String {
        let base = escaped(base)
        return document(
            title: title,
            style: """
                body { margin: 0; background: #111; color: #eee; font-family: system-ui, sans-serif; text-align: center; }
                h1 { font-size: 1.2rem; font-weight: 500; margin: 0.8rem; }
                img { max-width: 100vw; max-height: calc(100vh - 5rem); background: #000; }
                a { color: #9cf; }
                """,
            body: """
                <img src="\(base)video_feed" alt="live camera stream" data-stream>
                <p><a href="\(base)snapshot.jpg">snapshot</a> · <a href="\(base)status">status</a> · \
                <a href="\(base)player">Player (pause, rewind)</a></p>
                """
        )
    }

    /// A whole page: the head with `title` and `style`, the title as a heading, and `body`, which is HTML already.
    static func document(title: String, style: String, body: String) -> String {
        let title = escaped(title)
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>
            \(style)
            </style>
            </head>
            <body>
            <h1>\(title)</h1>
            \(body)
            <script>
            \(reconnectScript)
            </script>
            </body>
            </html>

            """
    }

    /// Reopens each stream `<img data-stream>` whose connection was cut (a relay or the server went away): each
    /// try waits longer, from one second up to ten, and the waiting starts over once a picture comes. Browsers fire
    /// no event when a multipart stream is cut (Chromium, checked by Scripts/reconnect-check.py), but the image
    /// loses its picture: its natural width becomes 0, which a timer looks at every second; `error` comes when a
    /// try is refused. A query value that changes makes the browser ask again instead of keeping the image it has.
    /// A stream the server ends in order (a graceful shutdown) keeps its last picture, and is not reopened.
    static let reconnectScript = """
        for (const img of document.querySelectorAll("img[data-stream]")) {
          const source = img.getAttribute("src");
          let tries = 0, timer = 0;
          const reopen = () => {
            if (timer) return;
            const wait = Math.min(1000 * 2 ** tries++, 10000);
            timer = setTimeout(() => {
              timer = 0;
              img.src = source + (source.includes("?") ? "&" : "?") + "reconnect=" + Date.now();
            }, wait);
          };
          img.addEventListener("error", reopen);
          setInterval(() => {
            if (img.naturalWidth) tries = 0;
            else if (img.complete) reopen();
          }, 1000);
        }
        """

    /// What relative links on a page at `path` start with to reach the routes mounted there: nothing when the
    /// path ends with `/` (`/cams/front/` → `video_feed`), else its last segment (`/cams/front` → `front/video_feed`).
    static func base(of path: String) -> String {
        guard !path.hasSuffix("/"), let last = path.split(separator: "/").last else { return "" }
        return String(last) + "/"
    }

    /// `text` with the characters that mean something in HTML escaped.
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
