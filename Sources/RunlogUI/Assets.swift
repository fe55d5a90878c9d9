/// The UI's static files, compiled in: the binary serves its UI offline, from anywhere.
enum Assets {
    /// Changes with the files' contents, so a browser never mixes an old script with a new page.
    static let version: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (css + js).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 36)
    }()

    /// A rising curve on the header's ink.
    static let favicon =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" "
        + "fill=\"#1d2330\"/><path d=\"M2 12 L6 8 L9 10 L14 3\" fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"2\"/></svg>"

    static func file(_ name: String) -> UIResponse? {
        let cache = [("Cache-Control", "public, max-age=86400")]
        switch name {
        case "ui.css": return UIResponse(contentType: "text/css; charset=utf-8", headers: cache, body: Array(css.utf8))
        case "ui.js":
            return UIResponse(contentType: "text/javascript; charset=utf-8", headers: cache, body: Array(js.utf8))
        case "favicon.svg": return UIResponse(contentType: "image/svg+xml", headers: cache, body: Array(favicon.utf8))
        default: return nil
        }
    }
}
