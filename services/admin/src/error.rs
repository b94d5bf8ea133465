//! Why a question was not answered, and how each protocol says so: one mapping to gRPC status,
//! one to HTTP. gRPC names the request field, HTTP the query parameter it came from.

use axum::response::{IntoResponse, Response};
use sensorpipe::http_error::{ErrorBody, http_status};
use tonic::{Code, Status};

/// Why the service could not start, or stopped with an error (a refused call is an `AdminError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the database pool: {0}")]
    Pool(#[from] sensorpipe::db::PoolError),
    #[error(transparent)]
    Auth(#[from] sensorpipe::auth::SetupError),
    #[error(transparent)]
    Server(#[from] sensorpipe::grpc::Error),
}

/// A request field that can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    PageSize,
    PageToken,
    SensorId,
    StartTime,
    EndTime,
    Cursor,
    /// The HTTP query string as a whole, when it cannot be parsed.
    Query,
}

impl Field {
    /// Its name in the Protobuf request.
    pub fn grpc_name(self) -> &'static str {
        match self {
            Self::PageSize => "page_size",
            Self::PageToken => "page_token",
            Self::SensorId => "sensor_id",
            Self::StartTime => "start_time",
            Self::EndTime => "end_time",
            Self::Cursor => "cursor",
            Self::Query => "query",
        }
    }

    /// Its name as an HTTP query parameter.
    pub fn http_name(self) -> &'static str {
        match self {
            Self::PageSize => "limit",
            other => other.grpc_name(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AdminError {
    /// `message` says what is wrong without the field name; each protocol prefixes its own name.
    #[error("{}: {message}", field.grpc_name())]
    Invalid { field: Field, message: String },
    #[error("the database is unavailable ({0}); retry later")]
    Unavailable(String),
    #[error(
        "this watch fell more than {buffer} rows behind the saved rows and was cut off; \
         reconnect with cursor {cursor:?} to resume without missing a row"
    )]
    TooSlow { buffer: usize, cursor: String },
    /// Said to every watcher when admin stops: nothing is wrong with the data or the database.
    #[error(
        "admin is shutting down; reconnect with your last cursor to resume without missing a row"
    )]
    ShuttingDown,
}

impl AdminError {
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Self::Invalid { .. } => Code::InvalidArgument,
            Self::Unavailable(_) | Self::ShuttingDown => Code::Unavailable,
            Self::TooSlow { .. } => Code::ResourceExhausted,
        }
    }

    /// What an HTTP caller reads: the parameter name instead of the Protobuf field name.
    fn http_message(&self) -> String {
        match self {
            Self::Invalid { field, message } => format!("{}: {message}", field.http_name()),
            other => other.to_string(),
        }
    }

    /// The JSON error body (`{"error": {...}}`) shared by error responses and SSE error events.
    pub fn body(&self) -> ErrorBody {
        let field = match self {
            Self::Invalid { field, .. } => Some(field.http_name().to_owned()),
            _ => None,
        };
        ErrorBody::new(self.code(), field, self.http_message())
    }
}

impl From<AdminError> for Status {
    fn from(error: AdminError) -> Self {
        Status::new(error.code(), error.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (http_status(self.code()), axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_names_the_field_and_http_the_parameter() {
        let error = AdminError::invalid(Field::PageSize, "must be from 0 to 1000, got -1");
        let status = Status::from(error.clone());
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "page_size: must be from 0 to 1000, got -1"
        );
        let body = serde_json::to_value(error.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "INVALID_ARGUMENT",
                "field": "limit",
                "message": "limit: must be from 0 to 1000, got -1",
            }})
        );
        assert_eq!(
            error.into_response().status(),
            axum::http::StatusCode::BAD_REQUEST
        );
    }
}
