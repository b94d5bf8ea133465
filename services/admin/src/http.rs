//! The HTTP JSON face of the admin service: `GET /measurements`, `GET /sensors` and the watch as
//! Server-Sent Events at `GET /measurements/watch`. Parameters become the same checked queries as
//! gRPC requests, so answers and errors match; only field names differ (`limit` is `page_size`).

use std::convert::Infallible;

use axum::{
    Router,
    body::Body,
    extract::{Query, Request, State, rejection::QueryRejection},
    http::{HeaderMap, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use chrono::DateTime;
use futures::StreamExt;
use prost_types::Timestamp;
use sensorpipe::proto::v1;

use sensorpipe::http_error::error_response;
use tonic::{Code, Status};

use crate::{
    error::{AdminError, Field},
    json::{self, MeasurementJson},
    metrics::{Method, Protocol, observe},
    query::{self, MeasurementsQuery, SensorsQuery, WatchQuery},
    service::Admin,
};

pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/measurements", get(list_measurements))
        .route("/sensors", get(list_sensors))
        .route("/measurements/watch", get(watch))
        .with_state(admin)
}

/// Every parameter as text, so that each bad value gets our error naming it, not a generic one.
#[derive(Debug, Default)]
struct Params {
    limit: Option<String>,
    page_token: Option<String>,
    sensor_id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    cursor: Option<String>,
}

async fn list_measurements(State(admin): State<Admin>, params: Pairs) -> Response {
    let page = observe(Method::ListMeasurements, Protocol::Http, async {
        let params = params_of(params)?;
        let request = v1::ListMeasurementsRequest {
            page_size: limit(&params)?,
            page_token: params.page_token.unwrap_or_default(),
            sensor_id: params.sensor_id.unwrap_or_default(),
            start_time: time(params.start_time, Field::StartTime)?,
            end_time: time(params.end_time, Field::EndTime)?,
        };
        admin
            .list_measurements(MeasurementsQuery::try_from(request)?)
            .await
    })
    .await;
    match page {
        Ok(answer) => json::response(answer.json()),
        Err(error) => error.into_response(),
    }
}

async fn list_sensors(State(admin): State<Admin>, params: Pairs) -> Response {
    let page = observe(Method::ListSensors, Protocol::Http, async {
        let params = params_of(params)?;
        let request = v1::ListSensorsRequest {
            page_size: limit(&params)?,
            page_token: params.page_token.unwrap_or_default(),
        };
        admin.list_sensors(SensorsQuery::try_from(request)?).await
    })
    .await;
    match page {
        Ok(page) => json::response(json::sensors_page(page)),
        Err(error) => error.into_response(),
    }
}

/// Each row is an event `measurement` whose id is its cursor, so a browser's `EventSource`
/// resumes by itself after a disconnect (it sends the last id as `Last-Event-ID`). A failure is a
/// last event `error` carrying the JSON error body.
async fn watch(State(admin): State<Admin>, headers: HeaderMap, params: Pairs) -> Response {
    let watch = observe(Method::WatchMeasurements, Protocol::Http, async {
        let params = params_of(params)?;
        let last_event_id = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let query = WatchQuery::try_from(v1::WatchMeasurementsRequest {
            sensor_id: params.sensor_id.unwrap_or_default(),
            cursor: params.cursor.or(last_event_id).unwrap_or_default(),
        })?;
        admin.watch(query).await
    })
    .await;
    let watch = match watch {
        Ok(watch) => watch,
        Err(error) => return error.into_response(),
    };
    let events = watch.map(|item| {
        let event = match item {
            Ok(saved) => Event::default()
                .event("measurement")
                .id(saved.position.encode())
                .json_data(MeasurementJson::from(&saved.measurement)),
            Err(error) => Event::default().event("error").json_data(error.body()),
        };
        Ok::<_, Infallible>(event.expect("our JSON serializes"))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Unknown paths. gRPC and gRPC-Web callers get `UNIMPLEMENTED`, as the gRPC protocol requires;
/// everyone else a JSON 404 that says what exists.
pub fn unknown(request: &Request) -> Response {
    let path = request.uri().path();
    if is_grpc(request) {
        return Status::unimplemented(format!("unknown method {path}"))
            .into_http::<Body>()
            .into_response();
    }
    not_found(path)
}

/// gRPC and gRPC-Web alike: every content type of either starts with `application/grpc`.
pub fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// The JSON 404 of a path that is neither a route nor a dashboard file.
pub fn not_found(path: &str) -> Response {
    let message = format!(
        "no resource at {path}: GET / (the dashboard), /measurements, /sensors, \
         /measurements/watch, /metrics, or /tokens (admin scope)"
    );
    error_response(Code::NotFound, None, message)
}

/// The query string as name-value pairs, so that a parameter given twice is refused naming it
/// (a struct extractor would only say the query string is wrong). Unknown names are ignored.
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn params_of(pairs: Pairs) -> Result<Params, AdminError> {
    let Query(pairs) =
        pairs.map_err(|rejection| AdminError::invalid(Field::Query, rejection.body_text()))?;
    let mut params = Params::default();
    for (name, value) in pairs {
        let (slot, field) = match name.as_str() {
            "limit" => (&mut params.limit, Field::PageSize),
            "page_token" => (&mut params.page_token, Field::PageToken),
            "sensor_id" => (&mut params.sensor_id, Field::SensorId),
            "start_time" => (&mut params.start_time, Field::StartTime),
            "end_time" => (&mut params.end_time, Field::EndTime),
            "cursor" => (&mut params.cursor, Field::Cursor),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(AdminError::invalid(field, "must be given at most once"));
        }
    }
    Ok(params)
}

fn limit(params: &Params) -> Result<i32, AdminError> {
    let Some(text) = params.limit.as_deref() else {
        return Ok(0);
    };
    let asked: i64 = text.trim().parse().map_err(|_| {
        AdminError::invalid(
            Field::PageSize,
            format!(
                "must be an integer from 0 to {}, got {text:?}",
                query::MAX_PAGE_SIZE
            ),
        )
    })?;
    Ok(query::page_size(asked)? as i32)
}

fn time(text: Option<String>, field: Field) -> Result<Option<Timestamp>, AdminError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(&text).map_err(|_| {
        AdminError::invalid(
            field,
            format!("must be an RFC 3339 time such as 2026-11-27T10:00:00Z, got {text:?}"),
        )
    })?;
    Ok(Some(Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }))
}

#[cfg(test)]
mod tests {
    use axum::http::Uri;

    use super::*;

    fn params(query: &str) -> Result<Params, AdminError> {
        let uri: Uri = format!("/measurements?{query}").parse().unwrap();
        params_of(Query::try_from_uri(&uri))
    }

    #[test]
    fn a_parameter_given_twice_is_refused_naming_it() {
        let error = params("limit=5&limit=6").unwrap_err();
        assert_eq!(error.body().error.field.as_deref(), Some("limit"));
        assert_eq!(
            error.body().error.message,
            "limit: must be given at most once"
        );
        let error = params("sensor_id=a&end_time=x&sensor_id=b").unwrap_err();
        assert_eq!(error.body().error.field.as_deref(), Some("sensor_id"));
    }

    #[test]
    fn each_parameter_lands_in_its_field_and_unknown_ones_are_ignored() {
        let p = params("limit=5&sensor_id=lab-1&page_token=t&cursor=c&start_time=s&end_time=e&x=1")
            .unwrap();
        assert_eq!(p.limit.as_deref(), Some("5"));
        assert_eq!(p.sensor_id.as_deref(), Some("lab-1"));
        assert_eq!(p.page_token.as_deref(), Some("t"));
        assert_eq!(p.cursor.as_deref(), Some("c"));
        assert_eq!(p.start_time.as_deref(), Some("s"));
        assert_eq!(p.end_time.as_deref(), Some("e"));
    }
}
