import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Runlog
import RunlogUI
import Synchronization

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
        // The scheme is case-insensitive (RFC 7235): `bearer` is `Bearer`.
        if let header = request.headers[.authorization], header.prefix(7).lowercased() == "bearer ",
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

/// Where `runlog server` writes its request log: one line a request in the Common Log Format, with
/// the time taken appended (`- - - [07/Dec/2026:20:53:59 +0000] "GET /health HTTP/1.1" 200 2 0.0004`).
/// No bodies and no headers, so no token, ever reaches it; bytes outside printable ASCII in the
/// request line are written `\xNN` (as nginx does), so no control character from a request reaches
/// a terminal.
public final class AccessLog: Sendable {
    private let descriptor: Int32
    private let owned: Bool
    private let lock = Mutex(())

    /// Standard error.
    public static let standardError = AccessLog(descriptor: 2, owned: false)

    private init(descriptor: Int32, owned: Bool) {
        self.descriptor = descriptor
        self.owned = owned
    }

    /// Appends to `path`, created when missing.
    public convenience init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RunlogError(.storage, "opening the access log \(path): \(String(cString: strerror(errno)))")
        }
        self.init(descriptor: descriptor, owned: true)
    }

    deinit { if owned { close(descriptor) } }

    func write(method: String, target: String, status: Int, bytes: Int?, seconds: Double, at time: time_t) {
        var moment = tm()
        gmtime_r([time], &moment)
        var stamp = [CChar](repeating: 0, count: 40)
        strftime(&stamp, stamp.count, "%d/%b/%Y:%H:%M:%S +0000", &moment)
        let line =
            "- - - [\(String(cString: stamp))] \"\(Self.printable(method)) \(Self.printable(target)) HTTP/1.1\" "
            + "\(status) \(bytes.map(String.init) ?? "-") \(String(format: "%.4f", seconds))\n"
        lock.withLock { _ in
            var bytes = Array(line.utf8)
            var done = 0
            while done < bytes.count {
                let wrote = bytes.withUnsafeMutableBytes {
                    Glibc.write(descriptor, $0.baseAddress! + done, $0.count - done)
                }
                if wrote <= 0 { return }  // a log that cannot be written must not fail the request
                done += wrote
            }
        }
    }

    /// Printable ASCII as it is; every other byte, and `"` and `\`, as `\xNN`.
    static func printable(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "\\x%02X", byte)
            }
        }
        return out
    }
}

/// Writes each request to the access log once its response is made: method, target, status,
/// bytes of the body when known, seconds taken.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: AccessLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let time = Glibc.time(nil)
        func record(_ status: Int, _ bytes: Int?) {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            log.write(
                method: request.method.rawValue, target: request.uri.description, status: status, bytes: bytes,
                seconds: seconds, at: time)
        }
        do {
            let response = try await next(request, context)
            record(Int(response.status.code), response.body.contentLength)
            return response
        } catch let error as HTTPError {
            record(Int(error.status.code), nil)
            throw error
        } catch {
            record(500, nil)
            throw error
        }
    }
}
