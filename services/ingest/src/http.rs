//! `POST /measurements`, the original HTTP entry point: one reading or a list as JSON, the same
//! validation and the same durability as gRPC (the answer comes only after Kafka confirmed).
//!
//! Request: `{"sensor_id": "s-1", "measured_at": "2026-11-26T12:00:00Z", "celsius": 21.5}` or a
//! list of those. Answers: 200 `{"accepted": N, "rejects": [...]}` when at least one reading was
//! accepted; 400 with an error naming the field when none was (or the JSON is bad); 429 or 503
//! with `Retry-After` when it may be resent later. Every error body is
//! `{"error": {"code", "field", "message"}}`.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::{DateTime, Utc};
use sensorpipe::{
    auth::Principal,
    http_error::{ErrorDetail, error_response, http_status, refuse_unless_json},
    proto::v1::{Reading, ReadingReject},
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::{
    error::IngestError,
    ingestor::{Admission, Ingestor},
};

#[derive(Clone)]
struct HttpState {
    ingestor: Arc<Ingestor>,
    admission: Admission,
}

pub fn router(ingestor: Arc<Ingestor>, admission: Admission) -> Router {
    Router::new()
        .route("/measurements", post(post_measurements))
        .with_state(HttpState {
            ingestor,
            admission,
        })
}

/// One reading as JSON. Absent fields are caught by validation (naming the field) rather than by
/// the parser, so JSON and gRPC callers get the same answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReading {
    #[serde(default)]
    sensor_id: String,
    /// RFC 3339, e.g. `2026-11-26T12:00:00.123456Z`.
    #[serde(default)]
    measured_at: Option<DateTime<Utc>>,
    celsius: f64,
}

impl From<JsonReading> for Reading {
    fn from(json: JsonReading) -> Self {
        Self {
            sensor_id: json.sensor_id,
            measured_at: json.measured_at.map(|at| prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: at.timestamp_subsec_nanos() as i32,
            }),
            celsius: json.celsius,
        }
    }
}

#[derive(Debug, Serialize)]
struct AcceptedBody {
    accepted: u32,
    rejects: Vec<JsonReject>,
}

#[derive(Debug, Serialize)]
struct RejectedBody {
    error: ErrorDetail,
    rejects: Vec<JsonReject>,
}

#[derive(Debug, Serialize)]
struct JsonReject {
    index: u32,
    /// The reason without its enum prefix: `TEMPERATURE_OUT_OF_RANGE`, ...
    reason: &'static str,
    field: String,
    message: String,
}

impl From<ReadingReject> for JsonReject {
    fn from(reject: ReadingReject) -> Self {
        let reason = reject.reason().as_str_name();
        Self {
            index: reject.index,
            reason: reason.strip_prefix("REJECT_REASON_").unwrap_or(reason),
            field: reject.field,
            message: reject.message,
        }
    }
}

async fn post_measurements(
    State(state): State<HttpState>,
    caller: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(Extension(caller)) = caller else {
        return error_response(Code::Internal, None, "the call passed no auth check".into());
    };
    if let Some(refused) = refuse_unless_json(&headers, "POST /measurements") {
        return refused;
    }
    let readings = match parse(&body) {
        Ok(readings) => readings,
        Err(error) => return error.into_response(),
    };
    match state
        .ingestor
        .ingest(0, readings, &caller, state.admission)
        .await
    {
        Ok(ack) if ack.accepted == 0 => {
            let rejects: Vec<JsonReject> = ack.rejects.into_iter().map(JsonReject::from).collect();
            let first = &rejects[0];
            let error = ErrorDetail::new(
                Code::InvalidArgument,
                Some(first.field.clone()),
                first.message.clone(),
            );
            (
                http_status(Code::InvalidArgument),
                Json(RejectedBody { error, rejects }),
            )
                .into_response()
        }
        Ok(ack) => Json(AcceptedBody {
            accepted: ack.accepted,
            rejects: ack.rejects.into_iter().map(JsonReject::from).collect(),
        })
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// One object or a list of them. Errors name the field, e.g. `[2].celsius`.
fn parse(body: &[u8]) -> Result<Vec<Reading>, IngestError> {
    let invalid = |field: String, message: String| IngestError::InvalidInput { field, message };
    let trimmed = body.trim_ascii_start();
    let mut deserializer = serde_json::Deserializer::from_slice(trimmed);
    let parsed = if trimmed.starts_with(b"[") {
        serde_path_to_error::deserialize::<_, Vec<JsonReading>>(&mut deserializer)
            .map(|list| list.into_iter().map(Reading::from).collect())
    } else {
        serde_path_to_error::deserialize::<_, JsonReading>(&mut deserializer)
            .map(|one| vec![Reading::from(one)])
    };
    let readings = parsed.map_err(|error| {
        let message = error.inner().to_string();
        let field = field_of(&error.path().to_string(), &message);
        invalid(field, message)
    })?;
    deserializer.end().map_err(|e| {
        invalid(
            "body".into(),
            format!("trailing characters after the JSON: {e}"),
        )
    })?;
    Ok(readings)
}

/// The path serde reports, completed with the field a "missing/unknown field `x`" message names.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    // serde_path_to_error writes "." for the top level and "?" where it lost track.
    match (path, named) {
        ("." | "?", Some(name)) => name.to_owned(),
        ("." | "?", None) => "body".to_owned(),
        (path, Some(name)) if path.ends_with(name) => path.to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> String {
        match parse(body.as_bytes()).unwrap_err() {
            IngestError::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_reading_or_a_list() {
        let one =
            parse(br#"{"sensor_id":"s","measured_at":"2026-01-01T00:00:00.5Z","celsius":1.5}"#)
                .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].measured_at.unwrap().nanos, 500_000_000);
        let list =
            parse(br#" [{"sensor_id":"a","celsius":1},{"sensor_id":"b","celsius":2}]"#).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[0].measured_at.is_none(), "left for validation to name");
    }

    #[test]
    fn bad_json_names_the_field() {
        assert_eq!(field(r#"{"sensor_id":"s","celsius":"hot"}"#), "celsius");
        assert_eq!(field(r#"{"sensor_id":"s"}"#), "celsius");
        assert_eq!(
            field(r#"[{"celsius":1},{"celsius":1,"colour":"red"}]"#),
            "[1].colour"
        );
        assert_eq!(
            field(r#"{"sensor_id":"s","measured_at":"yesterday","celsius":1}"#),
            "measured_at"
        );
        assert_eq!(field("not json"), "body");
        assert_eq!(field(r#"{"celsius":1} {}"#), "body");
    }
}
