//! One port, three protocols: gRPC, gRPC-Web the way a browser sends it (HTTP/1.1, CORS) and HTTP
//! JSON give the same answers and the same errors; plus what else the port serves (health, CORS
//! preflight, unknown routes, `/metrics`) and the watch as Server-Sent Events.

use std::{collections::HashMap, pin::Pin, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt};
use prost::Message;
use reqwest::{Method, header::HeaderMap};
use sensorpipe::{db::NewMeasurement, proto::v1, testing::metric_value};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::{Value, value::RawValue};
use tokio::time::timeout;
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response};

use crate::helpers::{TestApp, at, dataset, newest_first, row, timestamp};

/// Where the browser's page comes from.
const ORIGIN: &str = "http://dashboard.example";
const SERVICE: &str = "/sensorpipe.v1.AdminService";
/// Bounds every wait on the service, so a hang fails the test instead of stalling the run.
const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn same_answers_over_grpc_grpc_web_and_http_json() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let newest = newest_first(&rows);

    // No filter, two pages of 50 (the second through the token of the first).
    let first = measurements_everywhere(
        &app,
        v1::ListMeasurementsRequest {
            page_size: 50,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(keys(&first.items), newest[..50]);
    assert!(!first.next_page_token.is_empty(), "a second page exists");
    let second = measurements_everywhere(
        &app,
        v1::ListMeasurementsRequest {
            page_size: 50,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(keys(&second.items), newest[50..100]);

    // One sensor, the default page size (sensor a has exactly 100 rows: one page, no token).
    let of_a = measurements_everywhere(
        &app,
        v1::ListMeasurementsRequest {
            sensor_id: "a".into(),
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<_> = newest.iter().filter(|(s, _)| s == "a").cloned().collect();
    assert_eq!(expected.len(), 100);
    assert_eq!(keys(&of_a.items), expected);
    assert_eq!(of_a.next_page_token, "");

    // A time range with microseconds on both bounds: start inclusive, end exclusive.
    let (start, end) = (at(11, 123_456), at(20, 1));
    let ranged = measurements_everywhere(
        &app,
        v1::ListMeasurementsRequest {
            page_size: 1000,
            start_time: timestamp(start),
            end_time: timestamp(end),
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<_> = newest
        .iter()
        .filter(|(_, t)| *t >= start && *t < end)
        .cloned()
        .collect();
    assert!(expected.iter().any(|(_, t)| *t == start));
    assert!(!expected.iter().any(|(_, t)| *t == end));
    assert_eq!(keys(&ranged.items), expected);
    assert_eq!(ranged.next_page_token, "");

    // Every filter at once, page 2 through the token.
    let filtered = v1::ListMeasurementsRequest {
        page_size: 5,
        sensor_id: "b".into(),
        start_time: timestamp(at(11, 123_456)),
        end_time: timestamp(at(41, 0)),
        ..Default::default()
    };
    let expected: Vec<_> = newest
        .iter()
        .filter(|(s, t)| s == "b" && *t >= at(11, 123_456) && *t < at(41, 0))
        .cloned()
        .collect();
    let page_1 = measurements_everywhere(&app, filtered.clone()).await;
    assert_eq!(keys(&page_1.items), expected[..5]);
    let page_2 = measurements_everywhere(
        &app,
        v1::ListMeasurementsRequest {
            page_token: page_1.next_page_token.clone(),
            ..filtered
        },
    )
    .await;
    assert_eq!(keys(&page_2.items), expected[5..10]);

    // ListSensors, three at a time, to the last page: ids bytewise ("Z" < "a").
    let mut token = String::new();
    let mut pages = Vec::new();
    for _ in 0..3 {
        let page = sensors_everywhere(
            &app,
            v1::ListSensorsRequest {
                page_size: 3,
                page_token: token.clone(),
            },
        )
        .await;
        token = page.next_page_token.clone();
        pages.push(page);
    }
    let ids = |page: &Listed<SensorSummary>| -> Vec<String> {
        page.items.iter().map(|s| s.sensor_id.clone()).collect()
    };
    assert_eq!(ids(&pages[0]), ["Z.rare:1", "a", "b"]);
    assert_eq!(ids(&pages[1]), ["c", "d", "e"]);
    assert_eq!(ids(&pages[2]), ["f"]);
    assert_eq!(pages[2].next_page_token, "", "the third page is the last");
    let counts: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|s| s.measurement_count))
        .collect();
    assert_eq!(counts, [10, 100, 100, 100, 50, 50, 50]);
    assert_eq!(
        pages[0].items[1].latest.measured_at,
        micros(at(99, 123_456))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_errors_over_every_protocol() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("a", 1, 0), row("b", 0, 0)])
        .await;
    let sensors_token = app
        .grpc
        .clone()
        .list_sensors(v1::ListSensorsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("ListSensors")
        .into_inner()
        .next_page_token;
    let a_token = app
        .grpc
        .clone()
        .list_measurements(v1::ListMeasurementsRequest {
            page_size: 1,
            sensor_id: "a".into(),
            ..Default::default()
        })
        .await
        .expect("ListMeasurements")
        .into_inner()
        .next_page_token;
    assert!(!sensors_token.is_empty() && !a_token.is_empty());

    let measurements = |f: &dyn Fn(&mut v1::ListMeasurementsRequest)| {
        let mut request = v1::ListMeasurementsRequest::default();
        f(&mut request);
        Call::Measurements(request)
    };
    let sensors = |f: &dyn Fn(&mut v1::ListSensorsRequest)| {
        let mut request = v1::ListSensorsRequest::default();
        f(&mut request);
        Call::Sensors(request)
    };
    let cases = [
        (
            "page_size -1",
            measurements(&|r| r.page_size = -1),
            "page_size",
        ),
        (
            "page_size 1001",
            measurements(&|r| r.page_size = 1001),
            "page_size",
        ),
        (
            "ListSensors page_size -1",
            sensors(&|r| r.page_size = -1),
            "page_size",
        ),
        (
            "ListSensors page_size 1001",
            sensors(&|r| r.page_size = 1001),
            "page_size",
        ),
        (
            "a page_token never issued",
            measurements(&|r| r.page_token = "garbage".into()),
            "page_token",
        ),
        (
            "ListSensors: a page_token never issued",
            sensors(&|r| r.page_token = "garbage".into()),
            "page_token",
        ),
        (
            "a ListSensors token given to ListMeasurements",
            measurements(&|r| r.page_token = sensors_token.clone()),
            "page_token",
        ),
        (
            "a ListMeasurements token given to ListSensors",
            sensors(&|r| r.page_token = a_token.clone()),
            "page_token",
        ),
        (
            "a token issued for other filters",
            measurements(&|r| {
                r.page_token = a_token.clone();
                r.sensor_id = "b".into();
            }),
            "page_token",
        ),
        (
            "end_time before start_time",
            measurements(&|r| {
                r.start_time = timestamp(at(20, 0));
                r.end_time = timestamp(at(10, 0));
            }),
            "end_time",
        ),
        (
            "a sensor_id with a space",
            measurements(&|r| r.sensor_id = "bad id".into()),
            "sensor_id",
        ),
        (
            "a sensor_id of 65 characters",
            measurements(&|r| r.sensor_id = "x".repeat(65)),
            "sensor_id",
        ),
    ];
    for (what, call, field) in cases {
        let http_field = if field == "page_size" { "limit" } else { field };

        let status = match &call {
            Call::Measurements(r) => app.grpc.clone().list_measurements(r.clone()).await.err(),
            Call::Sensors(r) => app.grpc.clone().list_sensors(r.clone()).await.err(),
        }
        .unwrap_or_else(|| panic!("{what}: gRPC accepted it"));
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let detail = status
            .message()
            .strip_prefix(&format!("{field}: "))
            .unwrap_or_else(|| panic!("{what}: gRPC message does not name {field}: {status:?}"));

        let web = match &call {
            Call::Measurements(r) => grpc_web(&app, "ListMeasurements", r, Web::Proto).await,
            Call::Sensors(r) => grpc_web(&app, "ListSensors", r, Web::Proto).await,
        };
        assert_eq!(
            web.grpc_status(),
            Code::InvalidArgument as i32,
            "{what}: {web:?}"
        );
        assert_eq!(web.grpc_message(), status.message(), "{what}: {web:?}");
        assert!(web.messages.is_empty(), "{what}: a message with the error");
        assert!(web.allows_the_origin(), "{what}: no CORS header: {web:?}");

        let (code, body) = match &call {
            Call::Measurements(r) => http_get(&app, "/measurements", &measurement_params(r)).await,
            Call::Sensors(r) => http_get(&app, "/sensors", &sensor_params(r)).await,
        };
        assert_eq!(code, 400, "{what}: {body}");
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "INVALID_ARGUMENT",
                "field": http_field,
                "message": format!("{http_field}: {detail}"),
            }}),
            "{what}"
        );
    }

    // HTTP only: parameters that are not even numbers or times.
    let http_only = [
        ("/measurements", "limit", "abc"),
        ("/measurements", "limit", "-1"),
        ("/measurements", "limit", "1000000"),
        ("/measurements", "limit", "1.5"),
        ("/measurements", "limit", "99999999999999999999"),
        ("/sensors", "limit", "abc"),
        ("/sensors", "limit", "1000000"),
        ("/measurements", "start_time", "yesterday"),
        ("/measurements", "end_time", "2026-11-27 10:00"),
    ];
    for (path, name, value) in http_only {
        let (code, body) = http_get(&app, path, &[(name, value.to_owned())]).await;
        let what = format!("GET {path}?{name}={value}");
        assert_eq!(code, 400, "{what}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_ARGUMENT", "{what}: {body}");
        assert_eq!(body["error"]["field"], name, "{what}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{name}: ")), "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_allows_grpc_web_from_a_browser() {
    let app = TestApp::spawn().await;
    let preflight = app
        .http
        .request(
            Method::OPTIONS,
            app.url(&format!("{SERVICE}/ListMeasurements")),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent",
        )
        .send()
        .await
        .expect("admin answers the preflight");
    let headers = preflight.headers().clone();
    assert!(
        preflight.status().is_success(),
        "{}: {headers:?}",
        preflight.status()
    );
    assert!(allows_origin(&headers), "{headers:?}");
    let methods = list(&headers, "access-control-allow-methods");
    assert!(
        methods.iter().any(|m| m == "post" || m == "*"),
        "{headers:?}"
    );
    let allowed = list(&headers, "access-control-allow-headers");
    for wanted in ["content-type", "x-grpc-web", "x-user-agent"] {
        assert!(
            allowed.iter().any(|h| h == wanted || h == "*"),
            "{wanted} not allowed: {headers:?}"
        );
    }

    // The JSON routes answer a browser's cross-origin GET too.
    let response = app
        .http
        .get(app.url("/measurements"))
        .header("origin", ORIGIN)
        .send()
        .await
        .expect("admin answers HTTP");
    assert_eq!(response.status(), 200);
    assert!(allows_origin(response.headers()), "{response:?}");

    // And the browser may read the gRPC status of a gRPC-Web answer.
    let web = grpc_web(
        &app,
        "ListSensors",
        &v1::ListSensorsRequest::default(),
        Web::Proto,
    )
    .await;
    assert_eq!(web.grpc_status(), 0, "{web:?}");
    assert!(web.allows_the_origin(), "{web:?}");
    let exposed = list(&web.headers, "access-control-expose-headers");
    for wanted in ["grpc-status", "grpc-message"] {
        assert!(
            exposed.iter().any(|h| h == wanted || h == "*"),
            "{wanted} not exposed: {web:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_web_text_and_health_and_unknown_methods() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("b", 1, 0), row("c", 2, 7)])
        .await;

    // grpc-web-text: base64 both ways, the same answer as gRPC.
    let request = v1::ListSensorsRequest {
        page_size: 2,
        ..Default::default()
    };
    let over_grpc = app
        .grpc
        .clone()
        .list_sensors(request.clone())
        .await
        .expect("ListSensors")
        .into_inner();
    assert_eq!(over_grpc.sensors.len(), 2);
    assert!(!over_grpc.next_page_token.is_empty());
    // And plain application/grpc-web, Protobuf implied.
    for web in [Web::Text, Web::Plain] {
        let reply = grpc_web(&app, "ListSensors", &request, web).await;
        assert_eq!(reply.grpc_status(), 0, "{web:?}: {reply:?}");
        let over_web: v1::ListSensorsResponse = reply.message();
        assert_eq!(over_web, over_grpc, "{web:?}");
    }
    // An error over grpc-web-text.
    let reply = grpc_web(
        &app,
        "ListSensors",
        &v1::ListSensorsRequest {
            page_size: -1,
            ..Default::default()
        },
        Web::Text,
    )
    .await;
    assert_eq!(
        reply.grpc_status(),
        Code::InvalidArgument as i32,
        "{reply:?}"
    );
    assert!(reply.grpc_message().starts_with("page_size: "), "{reply:?}");

    // Health over gRPC-Web: the server and the admin service are SERVING; others unknown.
    for service in ["", "sensorpipe.v1.AdminService"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let web = grpc_web_at(&app, "/grpc.health.v1.Health/Check", &request, Web::Proto).await;
        assert_eq!(web.grpc_status(), 0, "{service:?}: {web:?}");
        let health: HealthCheckResponse = web.message();
        assert_eq!(
            health.status,
            health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
        assert_eq!(health.status, 1);
    }
    let request = HealthCheckRequest {
        service: "sensorpipe.v1.Nope".into(),
    };
    let web = grpc_web_at(&app, "/grpc.health.v1.Health/Check", &request, Web::Proto).await;
    assert_eq!(web.grpc_status(), Code::NotFound as i32, "{web:?}");

    // An unknown method, or service, over gRPC: UNIMPLEMENTED.
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .expect("a valid URI")
        .connect()
        .await
        .expect("admin accepts gRPC connections");
    let mut raw = tonic::client::Grpc::new(channel);
    for path in [
        "/sensorpipe.v1.AdminService/Nope",
        "/sensorpipe.v1.Nope/ListSensors",
    ] {
        raw.ready().await.expect("the channel is ready");
        let request = Bytes::from(v1::ListSensorsRequest::default().encode_to_vec());
        let status = raw
            .unary::<Bytes, Bytes, _>(
                tonic::Request::new(request),
                PathAndQuery::from_static(path),
                RawCodec,
            )
            .await
            .expect_err("no such method");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
    // ... and over gRPC-Web.
    let web = grpc_web(&app, "Nope", &v1::ListSensorsRequest::default(), Web::Proto).await;
    assert_eq!(web.grpc_status(), Code::Unimplemented as i32, "{web:?}");

    // An unknown HTTP path is a plain 404, and the service goes on answering.
    let mut not_404 = Vec::new();
    for path in ["/nope", "/measurements/nope", "/sensors/a", "/metrics/nope"] {
        let response = app
            .http
            .get(app.url(path))
            .send()
            .await
            .expect("admin answers HTTP");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        if status != 404 {
            not_404.push(format!("GET {path}: {status} {headers:?} {body:?}"));
        }
    }
    let (status, body) = app.get_json("/sensors").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sensors"].as_array().map(Vec::len), Some(3));
    assert!(
        not_404.is_empty(),
        "unknown paths not answered 404:\n{}",
        not_404.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_calls_by_method_protocol_and_code() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("b", 1, 0)]).await;
    let before = metrics(&app).await;

    let mut grpc = app.grpc.clone();
    for _ in 0..2 {
        grpc.list_measurements(v1::ListMeasurementsRequest::default())
            .await
            .expect("ListMeasurements");
    }
    grpc.list_measurements(v1::ListMeasurementsRequest {
        page_size: -1,
        ..Default::default()
    })
    .await
    .expect_err("page_size -1");
    grpc.list_sensors(v1::ListSensorsRequest::default())
        .await
        .expect("ListSensors");
    let status = grpc
        .watch_measurements(v1::WatchMeasurementsRequest {
            cursor: "garbage".into(),
            ..Default::default()
        })
        .await
        .expect_err("a bad cursor");
    assert_eq!(status.code(), Code::InvalidArgument);
    // gRPC-Web counts as gRPC.
    let web = grpc_web(
        &app,
        "ListSensors",
        &v1::ListSensorsRequest::default(),
        Web::Proto,
    )
    .await;
    assert_eq!(web.grpc_status(), 0);
    let web = grpc_web(
        &app,
        "ListMeasurements",
        &v1::ListMeasurementsRequest {
            sensor_id: "bad id".into(),
            ..Default::default()
        },
        Web::Proto,
    )
    .await;
    assert_eq!(web.grpc_status(), Code::InvalidArgument as i32);

    for (path, status) in [
        ("/measurements", 200),
        ("/measurements?limit=abc", 400),
        ("/measurements?sensor_id=bad%20id", 400),
        ("/sensors", 200),
        ("/sensors?limit=-1", 400),
        ("/measurements/watch?cursor=garbage", 400),
    ] {
        assert_eq!(app.get_json(path).await.0, status, "GET {path}");
    }

    let after = metrics(&app).await;
    let grew = |name: &str| metric_value(&after, name) - metric_value(&before, name);
    let requests = |method: &str, protocol: &str, code: &str| {
        format!(
            "admin_requests_total{{code=\"{code}\",method=\"{method}\",protocol=\"{protocol}\"}}"
        )
    };
    let expected = [
        (requests("ListMeasurements", "grpc", "OK"), 2.0),
        (
            requests("ListMeasurements", "grpc", "INVALID_ARGUMENT"),
            2.0,
        ),
        (requests("ListSensors", "grpc", "OK"), 2.0),
        (
            requests("WatchMeasurements", "grpc", "INVALID_ARGUMENT"),
            1.0,
        ),
        (requests("ListMeasurements", "http", "OK"), 1.0),
        (
            requests("ListMeasurements", "http", "INVALID_ARGUMENT"),
            2.0,
        ),
        (requests("ListSensors", "http", "OK"), 1.0),
        (requests("ListSensors", "http", "INVALID_ARGUMENT"), 1.0),
        (
            requests("WatchMeasurements", "http", "INVALID_ARGUMENT"),
            1.0,
        ),
    ];
    for (name, at_least) in &expected {
        assert!(
            after.contains(name.as_str()),
            "{name} missing from:\n{after}"
        );
        assert!(
            grew(name) >= *at_least,
            "{name} grew by {}, expected at least {at_least}",
            grew(name)
        );
    }

    let duration = |method: &str, protocol: &str, part: &str| {
        format!(
            "admin_request_duration_seconds_{part}{{method=\"{method}\",protocol=\"{protocol}\"}}"
        )
    };
    for (method, protocol, calls) in [
        ("ListMeasurements", "grpc", 4.0),
        ("ListSensors", "grpc", 2.0),
        ("WatchMeasurements", "grpc", 1.0),
        ("ListMeasurements", "http", 3.0),
        ("ListSensors", "http", 2.0),
        ("WatchMeasurements", "http", 1.0),
    ] {
        let count = duration(method, protocol, "count");
        assert!(
            grew(&count) >= calls,
            "{count} grew by {}, expected at least {calls}",
            grew(&count)
        );
        assert!(
            grew(&duration(method, protocol, "sum")) > 0.0,
            "{method} {protocol}"
        );
        let bucket = format!(
            "admin_request_duration_seconds_bucket{{method=\"{method}\",protocol=\"{protocol}\",le=\"+Inf\"}}"
        );
        assert!(grew(&bucket) >= calls, "{bucket} in:\n{after}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_watch_streams_events_with_cursor_ids() {
    let mut app = TestApp::spawn().await;
    until_the_watch_is_live(&mut app).await;

    let mut watch = EventStream::open(&app, "", None).await;
    // The subscription exists once the headers are here: everything saved now comes.
    let rows = [
        row("s-1", 0, 1),
        row("s-2", 1, 2),
        row("s-1", 2, 3),
        row("s-3", 3, 0),
        row("s-4", 3, 0),
    ];
    app.save(&rows[0..1]).await;
    app.save(&rows[1..2]).await;
    app.save(&rows[2..3]).await;
    // One transaction: its rows come in key order.
    app.save(&rows[3..5]).await;

    let mut events = Vec::new();
    while events.len() < rows.len() {
        events.push(watch.next().await.expect("the watch goes on"));
    }
    for (event, row) in events.iter().zip(&rows) {
        assert_eq!(event.event, "measurement", "{event:?}");
        assert!(!event.id.is_empty(), "{event:?}");
        assert_same_row(&event.data, row);
    }
    let mut ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every row has its own cursor");

    // A browser's EventSource reconnects with the last id it saw: the 3rd row onwards.
    let mut resumed = EventStream::open(&app, "", Some(&events[1].id)).await;
    for expected in &events[2..] {
        let event = resumed.next().await.expect("the resumed watch goes on");
        assert_eq!(event, *expected);
    }
    // The same with ?cursor=.
    let mut resumed = EventStream::open(&app, &format!("?cursor={}", events[1].id), None).await;
    assert_eq!(resumed.next().await.as_ref(), Some(&events[2]));

    // A cursor the service never issued, as a parameter or as Last-Event-ID.
    let (status, body) = app.get_json("/measurements/watch?cursor=garbage").await;
    assert_eq!(status, 400, "{body}");
    assert_cursor_error(&body);
    let response = app
        .http
        .get(app.url("/measurements/watch"))
        .header("last-event-id", "garbage")
        .send()
        .await
        .expect("admin answers HTTP");
    assert_eq!(response.status(), 400);
    assert_cursor_error(&response.json().await.expect("a JSON body"));
}

// ---------------------------------------------------------------------------------------------
// Comparable answers

/// A measurement as every protocol can be compared on it: times in microseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    sensor_id: String,
    measured_at: i64,
    celsius: f64,
    ingested_at: i64,
    saved_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct SensorSummary {
    sensor_id: String,
    latest: Row,
    measurement_count: u64,
}

/// One page in comparable form.
#[derive(Debug, Clone, PartialEq)]
struct Listed<T> {
    items: Vec<T>,
    next_page_token: String,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn keys(rows: &[Row]) -> Vec<(String, DateTime<Utc>)> {
    rows.iter()
        .map(|r| {
            let at = DateTime::from_timestamp_micros(r.measured_at).expect("a valid time");
            (r.sensor_id.clone(), at)
        })
        .collect()
}

fn grpc_micros(ts: Option<prost_types::Timestamp>) -> i64 {
    let ts = ts.expect("timestamp set");
    assert_eq!(ts.nanos % 1000, 0, "stored times are whole microseconds");
    ts.seconds * 1_000_000 + i64::from(ts.nanos / 1000)
}

fn grpc_row(m: &v1::Measurement) -> Row {
    Row {
        sensor_id: m.sensor_id.clone(),
        measured_at: grpc_micros(m.measured_at),
        celsius: m.celsius,
        ingested_at: grpc_micros(m.ingested_at),
        saved_at: grpc_micros(m.saved_at),
    }
}

/// A measurement as HTTP JSON has it.
#[derive(Debug, Deserialize)]
struct JsonMeasurement {
    sensor_id: String,
    measured_at: String,
    celsius: ExactF64,
    ingested_at: String,
    saved_at: String,
}

#[derive(Debug, Deserialize)]
struct JsonMeasurements {
    measurements: Vec<JsonMeasurement>,
    next_page_token: String,
}

#[derive(Debug, Deserialize)]
struct JsonSensor {
    sensor_id: String,
    latest: JsonMeasurement,
    measurement_count: u64,
}

#[derive(Debug, Deserialize)]
struct JsonSensors {
    sensors: Vec<JsonSensor>,
    next_page_token: String,
}

/// A JSON number read from its text with `str::parse`: serde_json's default float parsing may be
/// one ULP off (`0.10000020000000001` is read as `0.1000002`), which would be the test's error.
#[derive(Debug)]
struct ExactF64(f64);

impl<'de> Deserialize<'de> for ExactF64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        raw.get()
            .parse()
            .map(ExactF64)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonMeasurement {
    fn row(&self) -> Row {
        Row {
            sensor_id: self.sensor_id.clone(),
            measured_at: json_micros(&self.measured_at),
            celsius: self.celsius.0,
            ingested_at: json_micros(&self.ingested_at),
            saved_at: json_micros(&self.saved_at),
        }
    }
}

/// An HTTP JSON time: RFC 3339 in UTC with exactly six fractional digits.
fn json_micros(text: &str) -> i64 {
    assert!(
        text.len() == "2026-11-27T01:02:03.123456Z".len()
            && text.ends_with('Z')
            && text.as_bytes()[19] == b'.',
        "{text:?} is not RFC 3339 UTC with microseconds"
    );
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .timestamp_micros()
}

fn parse_json<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Asks ListMeasurements over gRPC, gRPC-Web and HTTP JSON; all three must agree.
async fn measurements_everywhere(
    app: &TestApp,
    request: v1::ListMeasurementsRequest,
) -> Listed<Row> {
    let page = app
        .grpc
        .clone()
        .list_measurements(request.clone())
        .await
        .unwrap_or_else(|s| panic!("gRPC {request:?}: {s:?}"))
        .into_inner();
    let grpc = Listed {
        items: page.measurements.iter().map(grpc_row).collect(),
        next_page_token: page.next_page_token,
    };

    let web = grpc_web(app, "ListMeasurements", &request, Web::Proto).await;
    assert_eq!(web.grpc_status(), 0, "gRPC-Web {request:?}: {web:?}");
    assert!(web.allows_the_origin(), "gRPC-Web without CORS: {web:?}");
    let page: v1::ListMeasurementsResponse = web.message();
    let over_web = Listed {
        items: page.measurements.iter().map(grpc_row).collect(),
        next_page_token: page.next_page_token,
    };

    let (status, body) = http_get_text(app, "/measurements", &measurement_params(&request)).await;
    assert_eq!(status, 200, "HTTP {request:?}: {body}");
    let body: JsonMeasurements = parse_json(&body);
    let json = Listed {
        items: body.measurements.iter().map(JsonMeasurement::row).collect(),
        next_page_token: body.next_page_token,
    };

    assert_eq!(over_web, grpc, "gRPC-Web and gRPC differ for {request:?}");
    assert_eq!(json, grpc, "HTTP JSON and gRPC differ for {request:?}");
    grpc
}

/// Asks ListSensors over gRPC, gRPC-Web and HTTP JSON; all three must agree.
async fn sensors_everywhere(
    app: &TestApp,
    request: v1::ListSensorsRequest,
) -> Listed<SensorSummary> {
    let from_grpc = |page: v1::ListSensorsResponse| Listed {
        items: page
            .sensors
            .iter()
            .map(|s| SensorSummary {
                sensor_id: s.sensor_id.clone(),
                latest: grpc_row(s.latest.as_ref().expect("latest set")),
                measurement_count: s.measurement_count,
            })
            .collect(),
        next_page_token: page.next_page_token,
    };
    let grpc = from_grpc(
        app.grpc
            .clone()
            .list_sensors(request.clone())
            .await
            .unwrap_or_else(|s| panic!("gRPC {request:?}: {s:?}"))
            .into_inner(),
    );

    let web = grpc_web(app, "ListSensors", &request, Web::Proto).await;
    assert_eq!(web.grpc_status(), 0, "gRPC-Web {request:?}: {web:?}");
    assert!(web.allows_the_origin(), "gRPC-Web without CORS: {web:?}");
    let over_web = from_grpc(web.message());

    let (status, body) = http_get_text(app, "/sensors", &sensor_params(&request)).await;
    assert_eq!(status, 200, "HTTP {request:?}: {body}");
    let body: JsonSensors = parse_json(&body);
    let json = Listed {
        items: body
            .sensors
            .iter()
            .map(|s| SensorSummary {
                sensor_id: s.sensor_id.clone(),
                latest: s.latest.row(),
                measurement_count: s.measurement_count,
            })
            .collect(),
        next_page_token: body.next_page_token,
    };

    assert_eq!(over_web, grpc, "gRPC-Web and gRPC differ for {request:?}");
    assert_eq!(json, grpc, "HTTP JSON and gRPC differ for {request:?}");
    grpc
}

enum Call {
    Measurements(v1::ListMeasurementsRequest),
    Sensors(v1::ListSensorsRequest),
}

// ---------------------------------------------------------------------------------------------
// HTTP JSON

fn rfc3339(ts: prost_types::Timestamp) -> String {
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
        .expect("a valid time")
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The HTTP parameters of a ListMeasurements request (unset fields left out).
fn measurement_params(r: &v1::ListMeasurementsRequest) -> Vec<(&'static str, String)> {
    let mut params = sensor_params(&v1::ListSensorsRequest {
        page_size: r.page_size,
        page_token: r.page_token.clone(),
    });
    if !r.sensor_id.is_empty() {
        params.push(("sensor_id", r.sensor_id.clone()));
    }
    if let Some(start) = r.start_time {
        params.push(("start_time", rfc3339(start)));
    }
    if let Some(end) = r.end_time {
        params.push(("end_time", rfc3339(end)));
    }
    params
}

fn sensor_params(r: &v1::ListSensorsRequest) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if r.page_size != 0 {
        params.push(("limit", r.page_size.to_string()));
    }
    if !r.page_token.is_empty() {
        params.push(("page_token", r.page_token.clone()));
    }
    params
}

/// `GET path?params` (URL-encoded): the status and the body.
async fn http_get_text(app: &TestApp, path: &str, params: &[(&str, String)]) -> (u16, String) {
    let response = app
        .http
        .get(app.url(path))
        .query(params)
        .send()
        .await
        .expect("admin answers HTTP");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// `GET path?params` (URL-encoded): the status and the JSON body.
async fn http_get(app: &TestApp, path: &str, params: &[(&str, String)]) -> (u16, Value) {
    let (status, body) = http_get_text(app, path, params).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| {
        panic!("GET {path} {params:?}: {status} with a body that is not JSON ({e}): {body:?}")
    });
    (status, json)
}

async fn metrics(app: &TestApp) -> String {
    let response = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("admin answers /metrics");
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics as text")
}

fn allows_origin(headers: &HeaderMap) -> bool {
    headers
        .get("access-control-allow-origin")
        .is_some_and(|v| v == "*" || v == ORIGIN)
}

/// A comma-separated header as lowercase items.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// gRPC-Web, by hand, as a browser sends it

#[derive(Debug, Clone, Copy)]
enum Web {
    /// `application/grpc-web+proto`: binary frames.
    Proto,
    /// `application/grpc-web`: the same, Protobuf implied.
    Plain,
    /// `application/grpc-web-text`: the same frames in base64.
    Text,
}

/// A gRPC-Web answer: its headers, data frames and the trailer frame.
#[derive(Debug)]
struct WebReply {
    headers: HeaderMap,
    messages: Vec<Bytes>,
    trailers: HashMap<String, String>,
}

impl WebReply {
    /// From the trailer frame, or from the headers of a trailers-only answer.
    fn field(&self, name: &str) -> Option<String> {
        self.trailers.get(name).cloned().or_else(|| {
            self.headers
                .get(name)
                .map(|v| v.to_str().expect("an ASCII header").to_owned())
        })
    }

    fn grpc_status(&self) -> i32 {
        self.field("grpc-status")
            .unwrap_or_else(|| panic!("no grpc-status: {self:?}"))
            .parse()
            .expect("grpc-status is a number")
    }

    fn grpc_message(&self) -> String {
        percent_decode(&self.field("grpc-message").unwrap_or_default())
    }

    fn allows_the_origin(&self) -> bool {
        allows_origin(&self.headers)
    }

    /// The single response message of a successful unary call.
    fn message<M: Message + Default>(&self) -> M {
        assert_eq!(self.grpc_status(), 0, "{self:?}");
        assert_eq!(self.messages.len(), 1, "one message: {self:?}");
        M::decode(self.messages[0].clone()).expect("the message decodes")
    }
}

/// Calls `sensorpipe.v1.AdminService/<method>` over gRPC-Web.
async fn grpc_web(app: &TestApp, method: &str, request: &impl Message, web: Web) -> WebReply {
    grpc_web_at(app, &format!("{SERVICE}/{method}"), request, web).await
}

/// A unary call over gRPC-Web on HTTP/1.1, with the headers a browser's grpc-web client sends.
async fn grpc_web_at(app: &TestApp, path: &str, request: &impl Message, web: Web) -> WebReply {
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(request.encoded_len() as u32);
    request.encode(&mut frame).expect("room in a BytesMut");
    let (content_type, body) = match web {
        Web::Proto => ("application/grpc-web+proto", frame.freeze()),
        Web::Plain => ("application/grpc-web", frame.freeze()),
        Web::Text => (
            "application/grpc-web-text",
            Bytes::from(STANDARD.encode(&frame)),
        ),
    };
    let browser = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("an HTTP/1.1 client");
    let response = browser
        .post(app.url(path))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1")
        .header("origin", ORIGIN)
        .body(body)
        .send()
        .await
        .expect("admin answers gRPC-Web");
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200, "POST {path}: {response:?}");
    let headers = response.headers().clone();
    let answered_as = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected_type = match web {
        Web::Proto | Web::Plain => "application/grpc-web",
        Web::Text => "application/grpc-web-text",
    };
    assert!(
        answered_as.starts_with(expected_type),
        "POST {path} answered as {answered_as:?}: {headers:?}"
    );
    let body = response.bytes().await.expect("the body");
    let body = match web {
        Web::Proto | Web::Plain => body,
        Web::Text => decode_web_text(&body),
    };
    let (messages, trailers) = frames(body);
    WebReply {
        headers,
        messages,
        trailers,
    }
}

/// Splits a gRPC-Web body: data frames (flag 0x00), then one trailer frame (flag 0x80) of
/// `name:value\r\n` lines.
fn frames(mut body: Bytes) -> (Vec<Bytes>, HashMap<String, String>) {
    let mut messages = Vec::new();
    let mut trailers = HashMap::new();
    while body.has_remaining() {
        assert!(body.len() >= 5, "a truncated frame header: {body:?}");
        assert!(trailers.is_empty(), "a frame after the trailers: {body:?}");
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        assert!(
            body.len() >= len,
            "a truncated frame: {len} bytes announced"
        );
        let payload = body.split_to(len);
        match flag {
            0x00 => messages.push(payload),
            0x80 => {
                let text = std::str::from_utf8(&payload).expect("trailers are text");
                for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                    let (name, value) = line
                        .split_once(':')
                        .unwrap_or_else(|| panic!("a trailer line {line:?}"));
                    trailers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
                assert!(!trailers.is_empty(), "an empty trailer frame");
            }
            other => panic!("a frame with flag {other:#04x}"),
        }
    }
    (messages, trailers)
}

/// grpc-web-text answers may be several base64 chunks, each padded: decode quad by quad.
fn decode_web_text(body: &[u8]) -> Bytes {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    assert_eq!(text.len() % 4, 0, "base64 comes in quads: {body:?}");
    let mut bytes = Vec::new();
    for quad in text.chunks(4) {
        bytes.extend(STANDARD.decode(quad).expect("base64"));
    }
    Bytes::from(bytes)
}

/// `grpc-message` is percent-encoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).expect("grpc-message is UTF-8")
}

/// Passes bytes through, for a gRPC call to any path.
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events

#[derive(Debug, Clone, Default, PartialEq)]
struct SseEvent {
    event: String,
    id: String,
    data: String,
}

/// `GET /measurements/watch` read event by event.
struct EventStream {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: Vec<u8>,
}

impl EventStream {
    /// Returns once the response headers are here, when the subscription exists.
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .http
            .get(app.url(&format!("/measurements/watch{query}")))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = timeout(PATIENCE, request.send())
            .await
            .expect("the watch answers in time")
            .expect("admin answers HTTP");
        assert_eq!(response.status(), 200, "{response:?}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{response:?}"
        );
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        }
    }

    /// The next event, comments (keep-alives) skipped; `None` once the stream has ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("events are UTF-8");
                let mut event = SseEvent::default();
                let mut fields = 0;
                for line in block
                    .lines()
                    .filter(|l| !l.is_empty() && !l.starts_with(':'))
                {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match name {
                        "event" => event.event = value.to_owned(),
                        "id" => event.id = value.to_owned(),
                        "data" if event.data.is_empty() => event.data = value.to_owned(),
                        "data" => event.data = format!("{}\n{value}", event.data),
                        _ => {}
                    }
                    fields += 1;
                }
                if fields > 0 {
                    return Some(event);
                }
                continue;
            }
            let chunk = timeout(PATIENCE, self.body.next())
                .await
                .expect("an event in time")?;
            self.buffer
                .extend_from_slice(&chunk.expect("the event stream reads"));
        }
    }
}

/// "From now" needs the watch to have read the database once; until then a watch ends at once
/// with UNAVAILABLE (clients retry). Opens watches until one delivers a row saved after it.
async fn until_the_watch_is_live(app: &mut TestApp) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut attempt = 0;
    while tokio::time::Instant::now() < deadline {
        let mut probe = EventStream::open(app, "?sensor_id=probe", None).await;
        app.save(&[row("probe", 1_000 + attempt, 0)]).await;
        let event = probe.next().await.expect("a row or an error");
        match event.event.as_str() {
            "measurement" => return,
            "error" => {
                let body: Value = serde_json::from_str(&event.data).expect("a JSON error");
                assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body}");
                eprintln!("watch not live yet (attempt {attempt}): {body}");
            }
            other => panic!("an event {other:?}: {event:?}"),
        }
        attempt += 1;
    }
    panic!("the watch did not go live within {PATIENCE:?}");
}

fn assert_same_row(data: &str, saved: &NewMeasurement) {
    let got = parse_json::<JsonMeasurement>(data).row();
    assert_eq!(got.sensor_id, saved.sensor_id, "{data}");
    assert_eq!(got.measured_at, micros(saved.measured_at), "{data}");
    assert_eq!(got.celsius, saved.celsius, "{data}");
    assert_eq!(got.ingested_at, micros(saved.ingested_at), "{data}");
}

fn assert_cursor_error(body: &Value) {
    assert_eq!(body["error"]["code"], "INVALID_ARGUMENT", "{body}");
    assert_eq!(body["error"]["field"], "cursor", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("cursor: "), "{body}");
}
