import Foundation
import Runlog

/// A request as the UI sees it: method, path (percent-decoded per segment), query and form fields.
public struct UIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: [String]]
    /// A POST's form fields (application/x-www-form-urlencoded).
    public var form: [String: [String]]

    public init(method: String = "GET", path: String, query: [String: [String]] = [:], form: [String: [String]] = [:]) {
        self.method = method
        self.path = path
        self.query = query
        self.form = form
    }

    func first(_ name: String) -> String? { query[name]?.first.flatMap { $0.isEmpty ? nil : $0 } }

    /// Every value of `name`, commas also separating (`runs=a,b&runs=c`).
    func all(_ name: String) -> [String] {
        (query[name] ?? []).flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
    }

    /// Parses `a=1&b=%20x` (and `+` as space).
    public static func fields(_ text: Substring) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0]), value = parts.count > 1 ? decode(parts[1]) : ""
            fields[key, default: []].append(value)
        }
        return fields
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// A response: status, headers, body.
public struct UIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// An artifact: served under a policy that lets it run nothing, whatever it is.
    var sandboxed = false
    /// When set, the body is this artifact's file, for the server to stream a chunk at a time.
    public internal(set) var artifactFile: (Artifact, String)?

    init(status: Int = 200, contentType: String, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    static func html(_ text: String, status: Int = 200) -> UIResponse {
        UIResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
    }

    static func redirect(_ location: String) -> UIResponse {
        UIResponse(status: 303, contentType: "text/plain; charset=utf-8", headers: [("Location", location)], body: [])
    }

    /// Where page scripts may come from: this server's own files, never the page's data; styles
    /// likewise. Sent with every page.
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    /// An artifact's: no script, no plugin, no form, in an opaque origin.
    public static let artifactPolicy = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
}

/// What the UI may change in the store; the server supplies it, so writes go through the same
/// code (and the same open-writer cache) as the REST API's.
public struct UIActions: Sendable {
    public var deleteRun: @Sendable (RunID) throws -> Void
    public var restoreRun: @Sendable (RunID) throws -> Void
    /// Asks for what other processes wrote to be read (it may be done in the background).
    public var refresh: @Sendable () -> Void
    /// Reads one run again now (one a page shows), unless this process writes it.
    public var refreshRun: @Sendable (RunID) -> Void

    public init(
        deleteRun: @escaping @Sendable (RunID) throws -> Void, restoreRun: @escaping @Sendable (RunID) throws -> Void,
        refresh: @escaping @Sendable () -> Void, refreshRun: @escaping @Sendable (RunID) -> Void = { _ in }
    ) {
        self.deleteRun = deleteRun
        self.restoreRun = restoreRun
        self.refresh = refresh
        self.refreshRun = refreshRun
    }
}

/// The tracking web UI: server-rendered pages over a store — the experiments list, an
/// experiment's runs table, a run's page, the compare page — with SVG charts drawn from buckets
/// and a small script (`/static/ui.js`) for hover, zoom, legend toggles and live refresh.
/// Every view is a URL; every page works without the script.
public struct TrackingUI: Sendable {
    let store: TrackingStore
    let actions: UIActions
    /// Logged models and the registry, when the server keeps them.
    let models: ModelStore?
    let keyCache = KeyCache()

    public init(store: TrackingStore, actions: UIActions, models: ModelStore? = nil) {
        self.store = store
        self.actions = actions
        self.models = models
    }

    /// The paths the UI answers (the server routes these here; the rest is the REST API).
    public static let routes = [
        "/", "/experiments/**", "/runs/**", "/compare", "/chart", "/static/**", "/favicon.ico", "/models",
        "/models/**", "/logged-models/**",
    ]

    public func respond(_ request: UIRequest) -> UIResponse {
        var response = route(request)
        response.headers.append(
            (
                "Content-Security-Policy",
                response.sandboxed ? UIResponse.artifactPolicy : UIResponse.contentSecurityPolicy
            ))
        response.headers.append(("X-Content-Type-Options", "nosniff"))
        response.headers.append(("Referrer-Policy", "same-origin"))
        return response
    }

    private func route(_ request: UIRequest) -> UIResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        do {
            switch (request.method, segments.first, segments.count) {
            case ("GET", nil, _): return try experimentsPage(request)
            case ("GET", "favicon.ico", 1): return Assets.file("favicon.svg")!
            case ("GET", "static", 2): return Assets.file(segments[1]) ?? notFound("no file /static/\(segments[1])")
            case ("GET", "experiments", 2): return try experimentPage(segments[1], request)
            case ("POST", "experiments", 3) where segments[2] == "delete-runs" || segments[2] == "restore-runs":
                return try changeRuns(experiment: segments[1], delete: segments[2] == "delete-runs", request)
            case ("GET", "runs", 2): return try runPage(try runID(segments[1]), request)
            case ("GET", "runs", _) where segments.count >= 4 && segments[2] == "artifacts":
                return try artifact(try runID(segments[1]), segments[3...].joined(separator: "/"))
            case ("GET", "models", 1): return try modelsPage(request)
            // A model's name may hold a `/` (sent as %2F, decoded before the path is split).
            case ("GET", "models", _) where segments.count >= 2:
                return try registeredModelPage(segments[1...].joined(separator: "/"))
            case ("GET", "logged-models", 2): return try loggedModelPage(segments[1])
            case ("GET", "logged-models", _) where segments.count >= 4 && segments[2] == "files":
                return try loggedModelFile(segments[1], segments[3...].joined(separator: "/"))
            case ("GET", "compare", 1): return try comparePage(request)
            case ("GET", "chart", 1): return try chart(request)
            default: return notFound("no page \(request.path)")
            }
        } catch let error as UIError {
            return errorPage(error.status, error.message)
        } catch let error as RunlogError {
            // The store's own failure (a damaged file, an I/O error) is the server's, not the request's.
            let status = error.code == .notFound ? 404 : (error.code == .storage ? 500 : 400)
            return errorPage(status, error.message)
        } catch {
            return errorPage(500, "\(error)")
        }
    }

    /// The sign-in page of a server that wants a token: one password field, posted to `/login`.
    public static func loginPage(error: String?) -> UIResponse {
        var page = Page(title: "Sign in")
        page.body { html in
            html.element("h1", text: "This server wants its token")
            html.element(
                "p", ["class": "quiet"],
                text: "The token runlog server was started with (--token-file or RUNLOG_SERVER_TOKEN).")
            html.element("form", ["method": "post", "action": "/login", "class": "filter"]) { form in
                form.element("label", ["for": "token"], text: "Token")
                form.void(
                    "input", ["type": "password", "id": "token", "name": "token", "autocomplete": "current-password"])
                form.element("button", ["type": "submit", "class": "primary"], text: "Sign in")
            }
            if let error { html.element("p", ["class": "error", "role": "alert"], text: error) }
        }
        var response = UIResponse.html(page.render())
        response.headers.append(("Content-Security-Policy", UIResponse.contentSecurityPolicy))
        return response
    }

    func runID(_ text: String) throws -> RunID {
        guard let id = RunID(text) else { throw UIError(404, "\(text) is not a run id") }
        return id
    }

    func notFound(_ message: String) -> UIResponse { errorPage(404, message) }

    func errorPage(_ status: Int, _ message: String) -> UIResponse {
        var page = Page(title: status == 404 ? "Not found" : "Error")
        page.body { html in
            html.element("h1", text: status == 404 ? "Not found" : "Something went wrong")
            html.element("p", ["class": "error"], text: message)
            html.element("p") { $0.element("a", ["href": "/"], text: "All experiments") }
        }
        return .html(page.render(), status: status)
    }
}

struct UIError: Error {
    let status: Int
    let message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// A page: the shared header (navigation and breadcrumbs), the content, the stylesheet and the
/// script — the one layout every screen uses.
struct Page {
    var title: String
    var crumbs: [(String, String?)] = []
    /// Set when something on the page is still being written: the script refreshes the parts
    /// marked `data-live` every few seconds.
    var live = false
    private var content = HTML(capacity: 32_768)

    init(title: String, crumbs: [(String, String?)] = []) {
        self.title = title
        self.crumbs = crumbs
    }

    mutating func body(_ write: (inout HTML) -> Void) { write(&content) }

    func render() -> String {
        var html = HTML(capacity: content.output.utf8.count + 2048)
        html.raw("<!doctype html>")
        html.element("html", ["lang": "en"]) { html in
            html.element("head") { head in
                head.void("meta", ["charset": "utf-8"])
                head.void("meta", ["name": "viewport", "content": "width=device-width, initial-scale=1"])
                head.element("title", text: title + " · Runlog")
                head.void("link", ["rel": "icon", "href": "/static/favicon.svg", "type": "image/svg+xml"])
                head.void("link", ["rel": "stylesheet", "href": "/static/ui.css?v=\(Assets.version)"])
                head.element("script", ["src": "/static/ui.js?v=\(Assets.version)", "defer": ""])
            }
            html.element("body", ["data-live": live ? "1" : nil]) { body in
                body.element("header", ["class": "top"]) { header in
                    header.element("a", ["class": "brand", "href": "/"], text: "Runlog")
                    header.element("nav", ["class": "crumbs", "aria-label": "breadcrumbs"]) { nav in
                        nav.element("a", ["href": "/"], text: "Experiments")
                        for (label, link) in crumbs {
                            nav.element("span", ["class": "sep"], text: "/")
                            if let link {
                                nav.element("a", ["href": link], text: label)
                            } else {
                                nav.element("span", ["class": "here"], text: label)
                            }
                        }
                    }
                    header.element("a", ["class": "section", "href": "/models"], text: "Models")
                    header.element("form", ["class": "jump", "action": "/", "method": "get", "role": "search"]) {
                        form in
                        form.void(
                            "input",
                            [
                                "type": "search", "name": "q", "placeholder": "Find an experiment",
                                "aria-label": "Find an experiment",
                            ])
                    }
                }
                body.element("main") { $0.raw(content.output) }
            }
        }
        return html.output
    }
}
