//! How every HTTP endpoint of every service says no: the HTTP status a gRPC code becomes, and one
//! JSON error body carrying the gRPC code name, so an HTTP caller reads the same code a gRPC
//! caller of the same service would get.

use axum::{
    Json,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;

/// `{"error": {"code", "field", "message"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// The gRPC code name (`INVALID_ARGUMENT`, ...).
    pub code: &'static str,
    /// The request field or parameter at fault, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ErrorDetail {
    pub fn new(code: Code, field: Option<String>, message: String) -> Self {
        Self {
            code: code_name(code),
            field,
            message,
        }
    }
}

impl ErrorBody {
    pub fn new(code: Code, field: Option<String>, message: String) -> Self {
        Self {
            error: ErrorDetail::new(code, field, message),
        }
    }
}

/// The error response for `code`: its HTTP status and the JSON body.
pub fn error_response(code: Code, field: Option<String>, message: String) -> Response {
    (
        http_status(code),
        Json(ErrorBody::new(code, field, message)),
    )
        .into_response()
}

/// The refusal of a request to `endpoint` (`POST /measurements`) whose body is not declared
/// `application/json`: 415 naming `content-type`; `None` for JSON. Every endpoint that changes
/// state takes only JSON: a browser sends a `text/plain` or form POST to any origin without asking
/// first (no CORS preflight), so taking those would let any web page open on a machine that
/// reaches the service change its state.
pub fn refuse_unless_json(headers: &HeaderMap, endpoint: &str) -> Option<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if json {
        return None;
    }
    let mut response = error_response(
        Code::InvalidArgument,
        Some("content-type".into()),
        format!("{endpoint} takes only `content-type: application/json`"),
    );
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    Some(response)
}

/// The HTTP status of a gRPC code, as `google.rpc.Code` documents it (and gRPC-HTTP gateways
/// answer): one table for every service, so equal refusals get equal statuses.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

/// The canonical name of a gRPC status code.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_services_answer_with_map_to_their_http_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
    }
}
