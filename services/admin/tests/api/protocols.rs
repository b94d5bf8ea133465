//! One port, three protocols: gRPC, gRPC-Web the way a browser sends it (HTTP/1.1, CORS) and HTTP
//! JSON give the same answers and the same errors; plus what else the port serves (health, CORS
//! preflight, unknown routes, `/metrics`) and the watch as Server-Sent Events.

use std::{fmt::Debug, time::Duration};

use bytes::{Buf, BufMut, Bytes};
use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message;
use prost_types::Timestamp;
use reqwest::{Method, RequestBuilder, Response, header::HeaderMap};
use sensorpipe::{
    db::NewMeasurement,
    proto::v1::{
        self, ListMeasurementsRequest as ListMeasurements, ListSensorsRequest as ListSensors,
    },
};
use serde::{Deserialize, Deserializer, de::DeserializeOwned, de::Error as _};
use serde_json::{Value, json, value::RawValue};
use testkit::metric_value;
use tokio::time::timeout;
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response};

use crate::{
    grpc_web::{self, GrpcWebReply, Mode, ORIGIN},
    helpers::{TestApp, at, dataset, newest_first, row, timestamp},
};

/// Bounds every wait on the service, so a hang fails the test instead of stalling the run.
const PATIENCE: Duration = Duration::from_secs(10);
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

#[tokio::test(flavor = "multi_thread")]
async fn same_answers_over_grpc_grpc_web_and_http_json() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let newest = newest_first(&rows);
    let newest_where = |keep: &dyn Fn(&str, DateTime<Utc>) -> bool| -> Vec<_> {
        newest
            .iter()
            .filter(|(s, t)| keep(s, *t))
            .cloned()
            .collect()
    };

    // No filter, two pages of 50 (the second through the token of the first).
    let mut request = ListMeasurements::with(|r| r.page_size = 50);
    let first = everywhere(&app, request.clone()).await;
    assert_eq!(keys(&first.measurements), newest[..50]);
    assert!(!first.next_page_token.is_empty(), "a second page exists");
    request.page_token = first.next_page_token;
    let second = everywhere(&app, request).await;
    assert_eq!(keys(&second.measurements), newest[50..100]);

    // One sensor, the default page size (sensor a has exactly 100 rows: one page, no token).
    let of_a = everywhere(&app, ListMeasurements::with(|r| r.sensor_id = "a".into())).await;
    let expected = newest_where(&|s, _| s == "a");
    assert_eq!(expected.len(), 100);
    assert_eq!(keys(&of_a.measurements), expected);
    assert_eq!(of_a.next_page_token, "");

    // A time range with microseconds on both bounds: start inclusive, end exclusive.
    let (start, end) = (at(11, 123_456), at(20, 1));
    let request = ListMeasurements {
        page_size: 1000,
        start_time: timestamp(start),
        end_time: timestamp(end),
        ..Default::default()
    };
    let ranged = everywhere(&app, request).await;
    let expected = newest_where(&|_, t| t >= start && t < end);
    assert!(expected.iter().any(|(_, t)| *t == start));
    assert!(!expected.iter().any(|(_, t)| *t == end));
    assert_eq!(keys(&ranged.measurements), expected);
    assert_eq!(ranged.next_page_token, "");

    // Every filter at once, page 2 through the token.
    let (start, end) = (at(11, 123_456), at(41, 0));
    let mut request = ListMeasurements {
        page_size: 5,
        sensor_id: "b".into(),
        start_time: timestamp(start),
        end_time: timestamp(end),
        ..Default::default()
    };
    let expected = newest_where(&|s, t| s == "b" && t >= start && t < end);
    let page_1 = everywhere(&app, request.clone()).await;
    assert_eq!(keys(&page_1.measurements), expected[..5]);
    request.page_token = page_1.next_page_token;
    let page_2 = everywhere(&app, request).await;
    assert_eq!(keys(&page_2.measurements), expected[5..10]);

    // ListSensors, three at a time, to the last page: ids bytewise ("Z" < "a").
    let mut request = ListSensors::with(|r| r.page_size = 3);
    let mut pages = Vec::new();
    for _ in 0..3 {
        let page = everywhere(&app, request.clone()).await;
        request.page_token = page.next_page_token.clone();
        pages.push(page);
    }
    let ids: Vec<Vec<&str>> = pages.iter().map(SensorsPage::ids).collect();
    assert_eq!(
        ids,
        [vec!["Z.rare:1", "a", "b"], vec!["c", "d", "e"], vec!["f"]]
    );
    assert_eq!(pages[2].next_page_token, "", "the third page is the last");
    let sensors = pages.iter().flat_map(|p| &p.sensors);
    let counts: Vec<u64> = sensors.map(|s| s.measurement_count).collect();
    assert_eq!(counts, [10, 100, 100, 100, 50, 50, 50]);
    let latest_of_a = &pages[0].sensors[1].latest;
    assert_eq!(latest_of_a.measured_at, at(99, 123_456).timestamp_micros());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_errors_over_every_protocol() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("a", 1, 0), row("b", 0, 0)])
        .await;
    let first = ListSensors::with(|r| r.page_size = 1).grpc(&app).await;
    let sensors_token = first.expect("ListSensors").next_page_token;
    let first_of_a = ListMeasurements {
        page_size: 1,
        sensor_id: "a".into(),
        ..Default::default()
    };
    let a_token = first_of_a
        .grpc(&app)
        .await
        .expect("ListMeasurements")
        .next_page_token;
    assert!(!sensors_token.is_empty() && !a_token.is_empty());

    // What is wrong, the field the error names, and the change to a default request.
    let measurements: [Case<'_, ListMeasurements>; 8] = [
        ("page_size -1", "page_size", &|r| r.page_size = -1),
        ("page_size 1001", "page_size", &|r| r.page_size = 1001),
        ("a page_token never issued", "page_token", &|r| {
            r.page_token = "garbage".into()
        }),
        ("a ListSensors token", "page_token", &|r| {
            r.page_token = sensors_token.clone()
        }),
        ("a token issued for other filters", "page_token", &|r| {
            r.page_token = a_token.clone();
            r.sensor_id = "b".into();
        }),
        ("end_time before start_time", "end_time", &|r| {
            r.start_time = timestamp(at(20, 0));
            r.end_time = timestamp(at(10, 0));
        }),
        ("a sensor_id with a space", "sensor_id", &|r| {
            r.sensor_id = "bad id".into()
        }),
        ("a sensor_id of 65 characters", "sensor_id", &|r| {
            r.sensor_id = "x".repeat(65)
        }),
    ];
    for (what, field, change) in measurements {
        refused_everywhere(&app, what, field, ListMeasurements::with(change)).await;
    }
    let sensors: [Case<'_, ListSensors>; 4] = [
        ("page_size -1", "page_size", &|r| r.page_size = -1),
        ("page_size 1001", "page_size", &|r| r.page_size = 1001),
        ("a page_token never issued", "page_token", &|r| {
            r.page_token = "garbage".into()
        }),
        ("a ListMeasurements token", "page_token", &|r| {
            r.page_token = a_token.clone()
        }),
    ];
    for (what, field, change) in sensors {
        refused_everywhere(&app, what, field, ListSensors::with(change)).await;
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
    for (route, name, value) in http_only {
        let (code, body) = http_get(&app, route, &[(name, value.to_owned())]).await;
        let what = format!("GET {route}?{name}={value}");
        assert_eq!(code, 400, "{what}: {body}");
        assert_invalid(&parse_json(&body), name, &what);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_allows_grpc_web_from_a_browser() {
    let app = TestApp::spawn().await;
    let wanted_headers = ["content-type", "x-grpc-web", "x-user-agent"];
    let preflight = app
        .http
        .request(Method::OPTIONS, app.url(ListMeasurements::METHOD))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", wanted_headers.join(","));
    let preflight = send(preflight).await;
    let headers = preflight.headers();
    let status = preflight.status();
    assert!(status.is_success(), "{status}: {headers:?}");
    assert!(allows_origin(headers), "{headers:?}");
    assert!(
        lists(headers, "access-control-allow-methods", "POST"),
        "{headers:?}"
    );
    for wanted in wanted_headers {
        let allowed = lists(headers, "access-control-allow-headers", wanted);
        assert!(allowed, "{wanted} not allowed: {headers:?}");
    }

    // The JSON routes answer a browser's cross-origin GET too.
    let cross_origin = app
        .http
        .get(app.url("/measurements"))
        .header("origin", ORIGIN);
    let response = send(cross_origin).await;
    assert_eq!(response.status(), 200);
    assert!(allows_origin(response.headers()), "{response:?}");

    // And the browser may read the gRPC status of a gRPC-Web answer.
    let web = ListSensors::default().web(&app, Mode::Binary).await;
    assert_eq!(web.status, Code::Ok, "{web:?}");
    assert!(allows_origin(&web.headers), "{web:?}");
    for wanted in ["grpc-status", "grpc-message"] {
        let exposed = lists(&web.headers, "access-control-expose-headers", wanted);
        assert!(exposed, "{wanted} not exposed: {web:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_web_text_and_health_and_unknown_methods() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("b", 1, 0), row("c", 2, 7)])
        .await;

    // grpc-web-text (base64 both ways), and plain application/grpc-web (Protobuf implied): the
    // same answer as gRPC.
    let request = ListSensors::with(|r| r.page_size = 2);
    let over_grpc = request.clone().grpc(&app).await.expect("ListSensors");
    assert_eq!(over_grpc.sensors.len(), 2);
    assert!(!over_grpc.next_page_token.is_empty());
    for mode in [Mode::Text, Mode::Plain] {
        let reply = request.web(&app, mode).await;
        assert_eq!(reply.status, Code::Ok, "{mode:?}: {reply:?}");
        assert_eq!(reply.single(), over_grpc, "{mode:?}");
    }
    // An error over grpc-web-text.
    let bad_size = ListSensors::with(|r| r.page_size = -1);
    let reply = bad_size.web(&app, Mode::Text).await;
    assert_eq!(reply.status, Code::InvalidArgument, "{reply:?}");
    assert!(reply.message.starts_with("page_size: "), "{reply:?}");

    // Health over gRPC-Web: the server and the admin service are SERVING; others unknown.
    let health = async |service: &str| {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        grpc_web::call::<_, HealthCheckResponse>(&app, HEALTH_CHECK, &request, Mode::Binary).await
    };
    for service in ["", "sensorpipe.v1.AdminService"] {
        let reply = health(service).await;
        assert_eq!(reply.status, Code::Ok, "{service:?}: {reply:?}");
        let status = reply.single().status;
        let serving = health_check_response::ServingStatus::Serving as i32;
        assert_eq!(status, serving, "{service:?}");
        assert_eq!(status, 1);
    }
    let reply = health("sensorpipe.v1.Nope").await;
    assert_eq!(reply.status, Code::NotFound, "{reply:?}");

    // An unknown method, or service, over gRPC: UNIMPLEMENTED.
    let channel = Channel::from_shared(app.url("")).expect("a valid URI");
    let channel = channel
        .connect()
        .await
        .expect("admin accepts gRPC connections");
    let mut raw = tonic::client::Grpc::new(channel);
    let nope = "/sensorpipe.v1.AdminService/Nope";
    for path in [nope, "/sensorpipe.v1.Nope/ListSensors"] {
        raw.ready().await.expect("the channel is ready");
        let request = tonic::Request::new(Bytes::from(ListSensors::default().encode_to_vec()));
        let reply = raw.unary(request, PathAndQuery::from_static(path), RawCodec);
        let status = reply.await.expect_err("no such method");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
    // ... and over gRPC-Web.
    let reply: GrpcWebReply<v1::ListSensorsResponse> =
        grpc_web::call(&app, nope, &ListSensors::default(), Mode::Binary).await;
    assert_eq!(reply.status, Code::Unimplemented, "{reply:?}");

    // An unknown HTTP path is a plain 404, and the service goes on answering.
    let mut not_404 = Vec::new();
    for path in ["/nope", "/measurements/nope", "/sensors/a", "/metrics/nope"] {
        let response = send(app.http.get(app.url(path))).await;
        let (status, headers) = (response.status(), response.headers().clone());
        if status != 404 {
            let body = response.text().await.unwrap_or_default();
            not_404.push(format!("GET {path}: {status} {headers:?} {body:?}"));
        }
    }
    let (status, body) = app.get_json("/sensors").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sensors"].as_array().map(Vec::len), Some(3));
    let not_404 = not_404.join("\n");
    assert!(
        not_404.is_empty(),
        "unknown paths not answered 404:\n{not_404}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_calls_by_method_protocol_and_code() {
    let mut app = TestApp::spawn().await;
    app.save(&[row("a", 0, 0), row("b", 1, 0)]).await;
    let before = metrics(&app).await;

    for _ in 0..2 {
        ListMeasurements::default()
            .grpc(&app)
            .await
            .expect("ListMeasurements");
    }
    let bad_size = ListMeasurements::with(|r| r.page_size = -1);
    bad_size.grpc(&app).await.expect_err("page_size -1");
    ListSensors::default()
        .grpc(&app)
        .await
        .expect("ListSensors");
    let bad_cursor = v1::WatchMeasurementsRequest {
        cursor: "garbage".into(),
        ..Default::default()
    };
    let status = app.grpc.clone().watch_measurements(bad_cursor).await;
    assert_eq!(
        status.expect_err("a bad cursor").code(),
        Code::InvalidArgument
    );
    // gRPC-Web counts as gRPC.
    let web = ListSensors::default().web(&app, Mode::Binary).await;
    assert_eq!(web.status, Code::Ok);
    let bad_id = ListMeasurements::with(|r| r.sensor_id = "bad id".into());
    assert_eq!(
        bad_id.web(&app, Mode::Binary).await.status,
        Code::InvalidArgument
    );

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
    for (method, protocol, code, at_least) in [
        ("ListMeasurements", "grpc", "OK", 2.0),
        ("ListMeasurements", "grpc", "INVALID_ARGUMENT", 2.0),
        ("ListSensors", "grpc", "OK", 2.0),
        ("WatchMeasurements", "grpc", "INVALID_ARGUMENT", 1.0),
        ("ListMeasurements", "http", "OK", 1.0),
        ("ListMeasurements", "http", "INVALID_ARGUMENT", 2.0),
        ("ListSensors", "http", "OK", 1.0),
        ("ListSensors", "http", "INVALID_ARGUMENT", 1.0),
        ("WatchMeasurements", "http", "INVALID_ARGUMENT", 1.0),
    ] {
        let labels = format!("code=\"{code}\",method=\"{method}\",protocol=\"{protocol}\"");
        let name = format!("admin_requests_total{{{labels}}}");
        assert!(after.contains(&name), "{name} missing from:\n{after}");
        let grown = grew(&name);
        assert!(
            grown >= at_least,
            "{name} grew by {grown}, expected at least {at_least}"
        );
    }
    for (method, protocol, calls) in [
        ("ListMeasurements", "grpc", 4.0),
        ("ListSensors", "grpc", 2.0),
        ("WatchMeasurements", "grpc", 1.0),
        ("ListMeasurements", "http", 3.0),
        ("ListSensors", "http", 2.0),
        ("WatchMeasurements", "http", 1.0),
    ] {
        let labels = format!("method=\"{method}\",protocol=\"{protocol}\"");
        let count = format!("admin_request_duration_seconds_count{{{labels}}}");
        let grown = grew(&count);
        assert!(
            grown >= calls,
            "{count} grew by {grown}, expected at least {calls}"
        );
        let sum = format!("admin_request_duration_seconds_sum{{{labels}}}");
        assert!(grew(&sum) > 0.0, "{method} {protocol}");
        let bucket = format!("admin_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}");
        assert!(grew(&bucket) >= calls, "{bucket} in:\n{after}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_watch_streams_events_with_cursor_ids() {
    let mut app = TestApp::spawn().await;
    // Opened plainly: the watch subscribes before it answers, even right after startup.
    let mut watch = EventStream::open(&app, "", None).await;
    let rows = [
        row("s-1", 0, 1),
        row("s-2", 1, 2),
        row("s-1", 2, 3),
        row("s-3", 3, 0),
        row("s-4", 3, 0),
    ];
    // The last two in one transaction: its rows come in key order.
    for saved_together in [&rows[0..1], &rows[1..2], &rows[2..3], &rows[3..5]] {
        app.save(saved_together).await;
    }

    let mut events = Vec::new();
    while events.len() < rows.len() {
        events.push(watch.next().await.expect("the watch goes on"));
    }
    for (event, saved) in events.iter().zip(&rows) {
        assert_eq!(event.event, "measurement", "{event:?}");
        assert!(!event.id.is_empty(), "{event:?}");
        assert_same_row(&event.data, saved);
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
    assert_invalid(&body, "cursor", "?cursor=");
    let watch = app.http.get(app.url("/measurements/watch"));
    let response = send(watch.header("last-event-id", "garbage")).await;
    assert_eq!(response.status(), 400);
    let body = response.json().await.expect("a JSON body");
    assert_invalid(&body, "cursor", "Last-Event-ID");
}

// ---------------------------------------------------------------------------------------------
// The list calls over each protocol, compared in one form

/// ListMeasurements and ListSensors over each protocol, so that one helper compares the answers
/// and one the errors of both.
trait List: Message + Default + Clone + Debug {
    type Response: Message + Default + Debug;
    /// The answer as HTTP JSON has it, times in microseconds; gRPC answers convert into it.
    type Page: From<Self::Response> + DeserializeOwned + PartialEq + Debug;
    /// The gRPC and gRPC-Web path.
    const METHOD: &'static str;
    const ROUTE: &'static str;

    async fn grpc(self, app: &TestApp) -> Result<Self::Response, Status>;

    /// The HTTP parameters, empty where proto3 leaves the field unset (0, "").
    fn params(&self) -> Vec<(&'static str, String)>;

    async fn web(&self, app: &TestApp, mode: Mode) -> GrpcWebReply<Self::Response> {
        grpc_web::call(app, Self::METHOD, self, mode).await
    }

    /// `GET` with the parameters the request sets.
    async fn http(&self, app: &TestApp) -> (u16, String) {
        let mut params = self.params();
        params.retain(|(_, value)| !value.is_empty());
        http_get(app, Self::ROUTE, &params).await
    }

    /// A default request with `change` made, to write requests in one line.
    fn with(change: impl FnOnce(&mut Self)) -> Self {
        let mut request = Self::default();
        change(&mut request);
        request
    }
}

/// What is wrong with a request, the field the error names, and how to get it from the default.
type Case<'a, R> = (&'a str, &'a str, &'a dyn Fn(&mut R));

impl List for ListMeasurements {
    type Response = v1::ListMeasurementsResponse;
    type Page = MeasurementsPage;
    const METHOD: &'static str = "/sensorpipe.v1.AdminService/ListMeasurements";
    const ROUTE: &'static str = "/measurements";

    async fn grpc(self, app: &TestApp) -> Result<Self::Response, Status> {
        Ok(app.grpc.clone().list_measurements(self).await?.into_inner())
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let time = |at: Option<Timestamp>| at.map(rfc3339).unwrap_or_default();
        let mut params = paging(self.page_size, &self.page_token);
        params.push(("sensor_id", self.sensor_id.clone()));
        params.push(("start_time", time(self.start_time)));
        params.push(("end_time", time(self.end_time)));
        params
    }
}

impl List for ListSensors {
    type Response = v1::ListSensorsResponse;
    type Page = SensorsPage;
    const METHOD: &'static str = "/sensorpipe.v1.AdminService/ListSensors";
    const ROUTE: &'static str = "/sensors";

    async fn grpc(self, app: &TestApp) -> Result<Self::Response, Status> {
        Ok(app.grpc.clone().list_sensors(self).await?.into_inner())
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        paging(self.page_size, &self.page_token)
    }
}

/// Over HTTP, `page_size` is `limit`.
fn paging(page_size: i32, page_token: &str) -> Vec<(&'static str, String)> {
    let limit = if page_size == 0 {
        String::new()
    } else {
        page_size.to_string()
    };
    vec![("limit", limit), ("page_token", page_token.to_owned())]
}

/// Asks over gRPC, gRPC-Web and HTTP JSON; all three must agree.
async fn everywhere<R: List>(app: &TestApp, request: R) -> R::Page {
    let grpc = request.clone().grpc(app).await;
    let grpc = R::Page::from(grpc.unwrap_or_else(|s| panic!("gRPC {request:?}: {s:?}")));

    let web = request.web(app, Mode::Binary).await;
    assert_eq!(web.status, Code::Ok, "gRPC-Web {request:?}: {web:?}");
    assert!(allows_origin(&web.headers), "no CORS: {web:?}");
    let over_web = R::Page::from(web.single());

    let (status, body) = request.http(app).await;
    assert_eq!(status, 200, "HTTP {request:?}: {body}");
    let json: R::Page = parse_json(&body);

    assert_eq!(over_web, grpc, "gRPC-Web and gRPC differ for {request:?}");
    assert_eq!(json, grpc, "HTTP JSON and gRPC differ for {request:?}");
    grpc
}

/// Refused over every protocol with INVALID_ARGUMENT naming `field` (over HTTP, `page_size` is
/// `limit`) and the same message.
async fn refused_everywhere<R: List>(app: &TestApp, what: &str, field: &str, request: R) {
    let what = &format!("{}: {what}", R::METHOD);
    let grpc = request.clone().grpc(app).await;
    let status = grpc
        .err()
        .unwrap_or_else(|| panic!("{what}: gRPC accepted it"));
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    let detail = status.message().strip_prefix(&format!("{field}: "));
    let detail = detail.unwrap_or_else(|| panic!("{what}: names no {field}: {status:?}"));

    let web = request.web(app, Mode::Binary).await;
    assert_eq!(web.status, Code::InvalidArgument, "{what}: {web:?}");
    assert_eq!(web.message, status.message(), "{what}: {web:?}");
    assert!(web.messages.is_empty(), "{what}: a message with the error");
    assert!(allows_origin(&web.headers), "{what}: no CORS: {web:?}");

    let http_field = if field == "page_size" { "limit" } else { field };
    let (code, body) = request.http(app).await;
    assert_eq!(code, 400, "{what}: {body}");
    let expected = json!({"error": {
        "code": "INVALID_ARGUMENT",
        "field": http_field,
        "message": format!("{http_field}: {detail}"),
    }});
    assert_eq!(parse_json::<Value>(&body), expected, "{what}");
}

#[derive(Debug, PartialEq, Deserialize)]
struct MeasurementsPage {
    measurements: Vec<Row>,
    next_page_token: String,
}

#[derive(Debug, PartialEq, Deserialize)]
struct SensorsPage {
    sensors: Vec<Sensor>,
    next_page_token: String,
}

impl SensorsPage {
    fn ids(&self) -> Vec<&str> {
        self.sensors.iter().map(|s| s.sensor_id.as_str()).collect()
    }
}

#[derive(Debug, PartialEq, Deserialize)]
struct Sensor {
    sensor_id: String,
    latest: Row,
    measurement_count: u64,
}

/// A measurement in microseconds since the epoch, the precision every protocol must keep (the
/// database's). HTTP JSON deserialises into it; gRPC converts with `From`.
#[derive(Debug, PartialEq, Deserialize)]
struct Row {
    sensor_id: String,
    #[serde(deserialize_with = "json_micros")]
    measured_at: i64,
    #[serde(deserialize_with = "exact_f64")]
    celsius: f64,
    #[serde(deserialize_with = "json_micros")]
    ingested_at: i64,
    #[serde(deserialize_with = "json_micros")]
    saved_at: i64,
}

impl From<v1::ListMeasurementsResponse> for MeasurementsPage {
    fn from(page: v1::ListMeasurementsResponse) -> Self {
        let measurements = page.measurements.iter().map(Row::from).collect();
        let next_page_token = page.next_page_token;
        Self {
            measurements,
            next_page_token,
        }
    }
}

impl From<v1::ListSensorsResponse> for SensorsPage {
    fn from(page: v1::ListSensorsResponse) -> Self {
        let sensor = |s: &v1::Sensor| Sensor {
            sensor_id: s.sensor_id.clone(),
            latest: s.latest.as_ref().expect("latest set").into(),
            measurement_count: s.measurement_count,
        };
        let sensors = page.sensors.iter().map(sensor).collect();
        let next_page_token = page.next_page_token;
        Self {
            sensors,
            next_page_token,
        }
    }
}

impl From<&v1::Measurement> for Row {
    fn from(m: &v1::Measurement) -> Self {
        Self {
            sensor_id: m.sensor_id.clone(),
            measured_at: grpc_micros(m.measured_at),
            celsius: m.celsius,
            ingested_at: grpc_micros(m.ingested_at),
            saved_at: grpc_micros(m.saved_at),
        }
    }
}

fn grpc_micros(ts: Option<Timestamp>) -> i64 {
    let ts = ts.expect("timestamp set");
    assert_eq!(ts.nanos % 1000, 0, "stored times are whole microseconds");
    ts.seconds * 1_000_000 + i64::from(ts.nanos / 1000)
}

/// An HTTP JSON time: RFC 3339 in UTC with exactly six fractional digits.
fn json_micros<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let text = String::deserialize(deserializer)?;
    let shape = "2026-11-27T01:02:03.123456Z";
    assert!(
        text.len() == shape.len() && text.ends_with('Z') && text.as_bytes()[19] == b'.',
        "{text:?} is not RFC 3339 UTC with microseconds"
    );
    let at = DateTime::parse_from_rfc3339(&text).map_err(D::Error::custom)?;
    Ok(at.timestamp_micros())
}

/// serde_json may read a float one ULP off (`0.10000020000000001` as `0.1000002`), which would
/// be the test's error: `str::parse` on the number's own text is exact.
fn exact_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    raw.get().parse().map_err(D::Error::custom)
}

fn keys(rows: &[Row]) -> Vec<(String, DateTime<Utc>)> {
    let at = |micros| DateTime::from_timestamp_micros(micros).expect("a valid time");
    rows.iter()
        .map(|r| (r.sensor_id.clone(), at(r.measured_at)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP

async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("admin answers HTTP")
}

/// `GET route?params` (URL-encoded): the status and the body.
async fn http_get(app: &TestApp, route: &str, params: &[(&str, String)]) -> (u16, String) {
    let response = send(app.http.get(app.url(route)).query(params)).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

fn rfc3339(ts: Timestamp) -> String {
    let at = DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("a valid time");
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_json<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// An HTTP JSON refusal naming `field`.
fn assert_invalid(body: &Value, field: &str, what: &str) {
    assert_eq!(body["error"]["code"], "INVALID_ARGUMENT", "{what}: {body}");
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("{field}: ")), "{what}: {body}");
}

async fn metrics(app: &TestApp) -> String {
    let response = send(app.http.get(app.url("/metrics"))).await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics as text")
}

fn allows_origin(headers: &HeaderMap) -> bool {
    let allowed = headers.get("access-control-allow-origin");
    allowed.is_some_and(|v| v == "*" || v == ORIGIN)
}

/// Whether the comma-separated header `name` lists `item` (in any case) or `*`.
fn lists(headers: &HeaderMap, name: &str, item: &str) -> bool {
    let values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let mut items = values.flat_map(|v| v.split(',')).map(str::trim);
    items.any(|listed| listed.eq_ignore_ascii_case(item) || listed == "*")
}

/// Passes bytes through: the generated clients only call methods that exist.
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
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

#[derive(Debug, Default, PartialEq)]
struct SseEvent {
    event: String,
    id: String,
    data: String,
}

/// `GET /measurements/watch` read event by event.
struct EventStream {
    response: Response,
    buffer: Vec<u8>,
}

impl EventStream {
    /// Returns once the response headers are here. The service answers only once it has
    /// subscribed (after the poller's first read), so every row saved from then on comes.
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let url = app.url(&format!("/measurements/watch{query}"));
        let mut request = app.http.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = timeout(PATIENCE, send(request)).await;
        let response = response.expect("the watch answers in time");
        assert_eq!(response.status(), 200, "{response:?}");
        let content_type = response.headers().get("content-type");
        let is_sse = content_type.is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        assert!(is_sse, "{response:?}");
        let buffer = Vec::new();
        Self { response, buffer }
    }

    /// The next event, comments (keep-alives) skipped; `None` once the stream has ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("events are UTF-8");
                let lines = block
                    .lines()
                    .filter(|l| !l.is_empty() && !l.starts_with(':'));
                let (mut event, mut data, mut fields) = (SseEvent::default(), Vec::new(), 0);
                for line in lines {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                    match name {
                        "event" => event.event = value,
                        "id" => event.id = value,
                        "data" => data.push(value),
                        _ => {}
                    }
                    fields += 1;
                }
                if fields > 0 {
                    event.data = data.join("\n");
                    return Some(event);
                }
            }
            let chunk = timeout(PATIENCE, self.response.chunk()).await;
            let chunk = chunk
                .expect("an event in time")
                .expect("the event stream reads");
            self.buffer.extend_from_slice(&chunk?);
        }
    }
}

fn assert_same_row(data: &str, saved: &NewMeasurement) {
    let got: Row = parse_json(data);
    let micros = |at: DateTime<Utc>| at.timestamp_micros();
    assert_eq!(got.sensor_id, saved.sensor_id, "{data}");
    assert_eq!(got.measured_at, micros(saved.measured_at), "{data}");
    assert_eq!(got.celsius, saved.celsius, "{data}");
    assert_eq!(got.ingested_at, micros(saved.ingested_at), "{data}");
}
