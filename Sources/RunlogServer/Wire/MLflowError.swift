import HTTPTypes
import Runlog

/// An error answered the way MLflow's server answers one: a JSON body `{"error_code", "message"}`
/// and a status. The client raises `RestException(error_code)` from the body, whatever the
/// status, but retries 429 and 5xx for minutes — so no client mistake is ever answered with those.
public struct MLflowError: Error, Sendable, Equatable {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let resourceDoesNotExist = Code(rawValue: "RESOURCE_DOES_NOT_EXIST")
        public static let invalidParameterValue = Code(rawValue: "INVALID_PARAMETER_VALUE")
        public static let resourceAlreadyExists = Code(rawValue: "RESOURCE_ALREADY_EXISTS")
        public static let invalidState = Code(rawValue: "INVALID_STATE")
        public static let endpointNotFound = Code(rawValue: "ENDPOINT_NOT_FOUND")
        public static let unauthenticated = Code(rawValue: "UNAUTHENTICATED")
        public static let internalError = Code(rawValue: "INTERNAL_ERROR")
        /// A run's log is damaged and the answer would be incomplete. MLflow's own server sends
        /// DATA_LOSS with 500, which its client retries for minutes; damage does not go away, so
        /// this is 422 and the client raises at once.
        public static let dataLoss = Code(rawValue: "DATA_LOSS")

        /// The one place codes become statuses.
        var status: HTTPResponse.Status {
            switch self {
            case .resourceDoesNotExist, .endpointNotFound: .notFound
            case .unauthenticated: .unauthorized
            case .internalError: .internalServerError
            case .dataLoss: .unprocessableContent
            default: .badRequest
            }
        }
    }

    public let code: Code
    public let message: String
    /// Set where the status is not the code's own (413 for a body over the limit).
    let statusOverride: HTTPResponse.Status?

    public init(_ code: Code, _ message: String, status: HTTPResponse.Status? = nil) {
        self.code = code
        self.message = message
        self.statusOverride = status
    }

    public var status: HTTPResponse.Status { statusOverride ?? code.status }

    static func invalid(_ message: String) -> MLflowError { MLflowError(.invalidParameterValue, message) }

    /// A required parameter missing (or empty), in MLflow's words.
    static func missing(_ name: String) -> MLflowError {
        invalid(
            "Missing value for required parameter '\(name)'. See the API docs for more information about request "
                + "parameters.")
    }

    /// An upload over `limit` bytes (MLflow's UI upload takes 10 MB): 413, in MLflow's words.
    static func tooLarge(_ limit: Int) -> MLflowError {
        MLflowError(
            .invalidParameterValue, "Artifact size is too large. Max size is \(limit >> 20)MB.",
            status: .contentTooLarge)
    }

    /// A request body over `Limits.requestBody`: 413, with MLflow's error JSON.
    static let bodyTooLarge = MLflowError(
        .invalidParameterValue, "The request body is larger than \(Limits.requestBody) bytes", status: .contentTooLarge)

    /// A tracking-layer error as MLflow would report it.
    init(_ error: RunlogError) {
        switch error.code {
        case .notFound: self.init(.resourceDoesNotExist, error.description)
        case .damaged: self.init(.dataLoss, error.description + " (allow_damaged=true reads what is left)")
        case .alreadyExists: self.init(.resourceAlreadyExists, error.description)
        case .invalidArgument, .paramConflict, .filterSyntax, .filterType:
            self.init(.invalidParameterValue, error.description)
        default:
            if error.storeError?.code == .locked {
                self.init(.invalidState, error.description)
            } else if error.storeError?.code == .notFound {
                self.init(.resourceDoesNotExist, error.description)
            } else {
                self.init(.internalError, error.description)
            }
        }
    }
}

/// MLflow's error body.
struct ErrorBody: Codable {
    let error_code: String
    let message: String
}
