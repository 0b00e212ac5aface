/// Placeholder until the player page lands.
enum PlayerPage {
    static func html(title: String, camera: String) -> String {
        "<!doctype html><title>\(title)</title><img src=\"stream\">"
    }
}
