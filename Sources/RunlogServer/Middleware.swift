import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

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
/// `MLFLOW_TRACKING_TOKEN`) on everything but `/health` and `/version`, compared in constant time.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if path == "/health" || path == "/version" { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.equal(Array(header.utf8.dropFirst("Bearer ".utf8.count)), token)
        else {
            throw MLflowError(
                .unauthenticated,
                request.headers[.authorization] == nil
                    ? "This server requires a token: set MLFLOW_TRACKING_TOKEN" : "The token is not valid")
        }
        return try await next(request, context)
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
