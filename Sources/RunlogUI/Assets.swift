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

    static func file(_ name: String) -> UIResponse? {
        let cache = [("Cache-Control", "public, max-age=86400")]
        switch name {
        case "ui.css": return UIResponse(contentType: "text/css; charset=utf-8", headers: cache, body: Array(css.utf8))
        case "ui.js":
            return UIResponse(contentType: "text/javascript; charset=utf-8", headers: cache, body: Array(js.utf8))
        default: return nil
        }
    }
}
