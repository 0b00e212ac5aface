/// The page of a server with several cameras: every camera's stream in a grid of `<img>`, each linking to the
/// camera's own page; no JavaScript needed.
enum CameraGridPage {
    /// - Parameters:
    ///   - title: the page's title.
    ///   - cameras: each camera's name and the relative path of its routes (`cameras/front/`).
    static func html(title: String, cameras: [(name: String, path: String)]) -> String {
        let tiles = cameras.map { camera in
            let name = CameraPage.escaped(camera.name)
            let path = CameraPage.escaped(camera.path)
            return """
                <figure><a href="\(path)"><img src="\(path)video_feed" alt="\(name), live" data-stream></a>\
                <figcaption><a href="\(path)">\(name)</a> · <a href="\(path)snapshot.jpg">snapshot</a></figcaption>\
                </figure>
                """
        }
        return CameraPage.document(
            title: title,
            style: """
                body { margin: 0; background: #111; color: #eee; font-family: system-ui, sans-serif; }
                h1 { font-size: 1.2rem; font-weight: 500; margin: 0.8rem; text-align: center; }
                main { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 0.5rem; padding: 0.5rem; }
                figure { margin: 0; text-align: center; }
                img { width: 100%; background: #000; }
                a { color: #9cf; }
                """,
            body: """
                <main>
                \(tiles.joined(separator: "\n"))
                </main>
                <p style="text-align: center"><a href="status">status</a></p>
                """
        )
    }
}
