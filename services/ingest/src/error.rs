//! Why the service stopped, why a batch was not acknowledged, and how each protocol says so: one
//! mapping to gRPC status, one to HTTP. Every variant tells the caller what to do next.

use std::time::Duration;

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use rdkafka::error::KafkaError;
use tonic::{Code, Status, metadata::MetadataValue};

use sensorpipe::http_error::error_response;

use crate::metrics;

/// Why the service could not start, or stopped with an error (a refused batch is an `IngestError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot create the Kafka producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Auth(#[from] sensorpipe::auth::SetupError),
    #[error(transparent)]
    Server(#[from] sensorpipe::grpc::Error),
}

/// How long a caller should wait before resending after a retryable failure.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("readings: a batch needs at least one reading")]
    EmptyBatch,
    #[error("readings: a batch may carry at most {max} readings, this one has {len}")]
    BatchTooLarge { len: usize, max: usize },
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("ingest is at capacity; retry in {} ms", RETRY_AFTER.as_millis())]
    Overloaded,
    #[error("Kafka did not confirm the batch ({0}); nothing of it is acknowledged, resend it")]
    KafkaUnavailable(#[from] KafkaError),
    #[error("ingest is shutting down; reconnect and resend unacknowledged batches")]
    ShuttingDown,
}

impl IngestError {
    fn code(&self) -> Code {
        match self {
            Self::EmptyBatch | Self::BatchTooLarge { .. } | Self::InvalidInput { .. } => {
                Code::InvalidArgument
            }
            Self::Overloaded => Code::ResourceExhausted,
            Self::KafkaUnavailable(_) | Self::ShuttingDown => Code::Unavailable,
        }
    }

    /// The request field at fault, for input errors.
    fn field(&self) -> Option<&str> {
        match self {
            Self::EmptyBatch | Self::BatchTooLarge { .. } => Some("readings"),
            Self::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    fn cause(&self) -> &'static str {
        match self.code() {
            Code::InvalidArgument => "invalid",
            Code::ResourceExhausted => "overloaded",
            _ if matches!(self, Self::ShuttingDown) => "shutting_down",
            _ => "kafka_unavailable",
        }
    }

    fn retryable(&self) -> bool {
        matches!(self.code(), Code::ResourceExhausted | Code::Unavailable)
    }

    /// Counts the refusal; called once where a batch's fate is decided.
    pub fn record(&self) {
        metrics::BATCHES_REFUSED
            .with_label_values(&[self.cause()])
            .inc();
    }
}

impl From<IngestError> for Status {
    fn from(error: IngestError) -> Self {
        let mut status = Status::new(error.code(), error.to_string());
        if error.retryable() {
            // The standard gRPC retry hint, understood by gRPC retry policies.
            let millis = MetadataValue::from(RETRY_AFTER.as_millis() as u64);
            status
                .metadata_mut()
                .insert("grpc-retry-pushback-ms", millis);
        }
        status
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let mut response = error_response(
            self.code(),
            self.field().map(str::to_owned),
            self.to_string(),
        );
        if self.retryable() {
            let secs = HeaderValue::from(RETRY_AFTER.as_secs().max(1));
            response.headers_mut().insert(header::RETRY_AFTER, secs);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn retryable_errors_carry_a_retry_hint() {
        let status = Status::from(IngestError::Overloaded);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "1000"
        );
        let status = Status::from(IngestError::EmptyBatch);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with("readings:"));
        assert!(status.metadata().get("grpc-retry-pushback-ms").is_none());
    }

    #[test]
    fn http_errors_map_to_status_codes() {
        let response = IngestError::ShuttingDown.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = IngestError::BatchTooLarge { len: 2, max: 1 }.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
