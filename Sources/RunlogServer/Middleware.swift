import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Runlog
import RunlogUI

/// Turns every failure into MLflow's error JSON: `MLflowError`s as they are, an unknown route as
/// `ENDPOINT_NOT_FOUND` (the client's fallbacks key on it), Hummingbird's own errors by status, and
/// anything else as `INTERNAL_ERROR`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as MLflowError {
            return Self.response(error)
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return Self.response(
                    MLflowError(.endpointNotFound, "No endpoint \(request.method) \(request.uri.path)"))
            case .methodNotAllowed:
                return Self.response(
                    MLflowError(
                        .endpointNotFound, "\(request.uri.path) does not take \(request.method)",
                        status: .methodNotAllowed))
            case .contentTooLarge:
                return Self.response(.bodyTooLarge)
            default:
                let code: MLflowError.Code =
                    error.status.code >= 500 ? .internalError : .invalidParameterValue
                return Self.response(MLflowError(code, error.body ?? "\(error.status)", status: error.status))
            }
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return Self.response(MLflowError(.internalError, "\(error)"))
        }
    }

    static func response(_ error: MLflowError) -> Response {
        let body =
            (try? WireCoding.encoder().encode(ErrorBody(error_code: error.code.rawValue, message: error.message)))
            ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.code == .unauthenticated { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Requires `Authorization: Bearer <token>` (what the stock client sends with
/// `MLFLOW_TRACKING_TOKEN`) on everything but `/health`, `/version`, the UI's static files and
/// `/login`, compared in constant time.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    static var cookie: String { "runlog_token" }

    /// API clients send `Authorization: Bearer <token>`. A browser signs in once at `/login`
    /// (the token typed into a form) and then sends it as an HttpOnly, SameSite=Strict cookie, so
    /// another site can neither read it nor make the browser send it; a page asked for without
    /// it is sent to `/login`.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if path == "/health" || path == "/version" || path.hasPrefix("/static/") || path == "/favicon.ico" {
            return try await next(request, context)
        }
        if path == "/login" { return try await login(request) }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.equal(Array(header.utf8.dropFirst("Bearer ".utf8.count)), token)
        {
            return try await next(request, context)
        }
        if let cookie = Self.cookieValue(request), cookie.utf8.count <= 8192,
            let bytes = Hex.decode(cookie, allowingUppercase: false), Self.equal(bytes, token)
        {
            return try await next(request, context)
        }
        let isAPI = path.hasPrefix("/api/") || path.hasPrefix("/ajax-api/")
        if !isAPI && request.method == .get {
            return Response(status: .seeOther, headers: [.location: "/login"])
        }
        throw MLflowError(
            .unauthenticated,
            request.headers[.authorization] == nil
                ? "This server requires a token: set MLFLOW_TRACKING_TOKEN" : "The token is not valid")
    }

    private func login(_ request: Request) async throws -> Response {
        guard request.method == .post else { return Self.loginPage(error: nil, status: .ok) }
        let body = try await Routes.body(request)
        let fields = UIRequest.fields(Substring(decoding: body, as: UTF8.self))
        guard let typed = fields["token"]?.first, Self.equal(Array(typed.utf8), token) else {
            return Self.loginPage(error: "That is not this server's token.", status: .unauthorized)
        }
        return Response(
            status: .seeOther,
            headers: [
                .location: "/",
                // Hex: a token may hold any byte, a cookie value may not.
                .setCookie: "\(Self.cookie)=\(Hex.encode(typed.utf8)); Path=/; HttpOnly; SameSite=Strict",
            ])
    }

    static func cookieValue(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
            }
        }
        return nil
    }

    static func loginPage(error: String?, status: HTTPResponse.Status) -> Response {
        let page = TrackingUI.loginPage(error: error)
        var headers: HTTPFields = [.contentType: page.contentType]
        for (name, value) in page.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: page.body)))
    }

    /// Equal bytes, in time that depends on the lengths only.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
