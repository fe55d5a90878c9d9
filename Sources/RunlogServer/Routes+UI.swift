import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Runlog
import RunlogUI

/// The web UI's pages, under the paths `TrackingUI.routes` names; rendering reads the store, so it
/// runs on the thread pool like every handler. A POST (delete or restore runs) is refused unless
/// it comes from a page of this server (`Origin` or `Sec-Fetch-Site`), so another site cannot
/// make a visitor's browser change the store.
struct UIRoutes: Sendable {
    let ui: TrackingUI
    let pool: NIOThreadPool

    init(adapter: StoreAdapter, pool: NIOThreadPool) {
        self.pool = pool
        ui = TrackingUI(
            store: adapter.store,
            actions: UIActions(
                deleteRun: { id in _ = try adapter.deleteRun(RunIDRequest(run_id: id.description, run_uuid: nil)) },
                restoreRun: { id in _ = try adapter.restoreRun(RunIDRequest(run_id: id.description, run_uuid: nil)) },
                refresh: { adapter.refreshInBackground() },
                refreshRun: { id in try? adapter.refreshIfForeign(id) }),
            models: adapter.models)
    }

    func register(on router: Router<BasicRequestContext>) {
        let ui = ui, pool = pool
        let page: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let uiRequest = try await Self.uiRequest(request)
            let response = try await pool.runIfActive { ui.respond(uiRequest) }
            return try Self.response(response)
        }
        // HEAD answers as GET would, without the body (link checkers and `curl -I` ask it).
        let head: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            var response = try await page(request, context)
            let length = response.body.contentLength
            response.body = ResponseBody()
            if let length { response.headers[.contentLength] = String(length) }
            return response
        }
        for path in TrackingUI.routes {
            router.get(RouterPath(path), use: page)
            router.head(RouterPath(path), use: head)
        }
        router.post("/experiments/**", use: page)
    }

    static func uiRequest(_ request: Request) async throws -> UIRequest {
        let path = request.uri.path.removingPercentEncoding ?? request.uri.path
        let query = UIRequest.fields(Substring(request.uri.query ?? ""))
        guard request.method == .post else { return UIRequest(method: "GET", path: path, query: query) }  // GET, HEAD
        guard sameOrigin(request) else {
            throw HTTPError(.forbidden, message: "a change to the store must come from this server's own pages")
        }
        let body = try await Routes.body(request)
        return UIRequest(
            method: "POST", path: path, query: query, form: UIRequest.fields(Substring(decoding: body, as: UTF8.self)))
    }

    static func sameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none"
        }
        guard let origin = request.headers[.origin] else { return true }  // not a browser's cross-site form
        guard let host = request.head.authority else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }

    static func response(_ response: UIResponse) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = response.contentType
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        let status = HTTPResponse.Status(code: response.status)
        if let file = response.artifactFile {
            var download = try Routes.download(file)
            download.status = status
            for field in headers { download.headers[field.name] = field.value }
            return download
        }
        return Response(
            status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
