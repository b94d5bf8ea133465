//! Who may call what, over every protocol, with auth on: ingest and admin from one tokens file, and
//! every endpoint called by every kind of caller (no token, a wrong one, a revoked one, the wrong
//! scope, the right scope), and the token administration API an `admin` token opens. Open by design: health (load balancers probe without credentials),
//! reflection (it describes only the public contract), `/metrics` (counters, no readings, and
//! the place that shows when auth is off) and the dashboard's static files (they hold no data).

mod support;

use std::{
    fmt,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use prost::Message;
use prost_types::Timestamp;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use sensorpipe::auth::Need;
use sensorpipe::proto::v1::{
    ListMeasurementsRequest, ListMeasurementsResponse, ListSensorsRequest, Reading, ReadingBatch,
    RejectReason, WatchMeasurementsRequest, admin_service_client::AdminServiceClient,
    ingest_service_client::IngestServiceClient,
};
use testkit::{TestTokens, auth::bearer};
use tonic::{Code, Request, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest,
};

/// How a call ended, in the terms the API documents for each protocol alike.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// UNAUTHENTICATED, or 401 with a `WWW-Authenticate: Bearer` challenge.
    Unauthenticated,
    /// PERMISSION_DENIED, or 403.
    PermissionDenied,
    Other(String),
}

impl From<Result<(), tonic::Status>> for Outcome {
    fn from(result: Result<(), tonic::Status>) -> Self {
        match result {
            Ok(()) => Outcome::Ok,
            Err(status) => match status.code() {
                Code::Unauthenticated => Outcome::Unauthenticated,
                Code::PermissionDenied => Outcome::PermissionDenied,
                _ => Outcome::Other(format!("{status:?}")),
            },
        }
    }
}

fn http_outcome(response: &reqwest::Response) -> Outcome {
    match response.status().as_u16() {
        200 | 201 => Outcome::Ok,
        401 => {
            let challenge = response.headers().get(WWW_AUTHENTICATE);
            match challenge.and_then(|v| v.to_str().ok()) {
                Some(value) if value.starts_with("Bearer") => Outcome::Unauthenticated,
                other => Outcome::Other(format!("401 without a Bearer challenge: {other:?}")),
            }
        }
        403 => Outcome::PermissionDenied,
        status => Outcome::Other(format!("HTTP {status}")),
    }
}

/// The kinds of caller every endpoint is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    WrongToken,
    RevokedToken,
    /// A token of another scope, and one with only `admin`: neither may, except `admin` on the
    /// token administration endpoints.
    WrongScope,
    AdminOnly,
    RightScope,
}

const CALLERS: [Caller; 6] = [
    Caller::NoToken,
    Caller::WrongToken,
    Caller::RevokedToken,
    Caller::WrongScope,
    Caller::AdminOnly,
    Caller::RightScope,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Ingest,
    Admin,
}

/// Each endpoint of each protocol, with whether it is open.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    IngestStream,
    IngestUnary,
    IngestHttpPost,
    AdminList,
    AdminSensors,
    AdminWatch,
    AdminGrpcWebList,
    AdminHttpList,
    AdminHttpSensors,
    AdminSse,
    /// `GET /tokens` and `POST /tokens`: the `admin` scope.
    TokensList,
    TokensCreate,
    Health(Service),
    Reflection(Service),
    Metrics(Service),
    Dashboard,
}

const ENDPOINTS: [Endpoint; 22] = [
    Endpoint::IngestStream,
    Endpoint::IngestUnary,
    Endpoint::IngestHttpPost,
    Endpoint::AdminList,
    Endpoint::AdminSensors,
    Endpoint::AdminWatch,
    Endpoint::AdminGrpcWebList,
    Endpoint::AdminHttpList,
    Endpoint::AdminHttpSensors,
    Endpoint::AdminSse,
    Endpoint::TokensList,
    Endpoint::TokensCreate,
    Endpoint::Health(Service::Ingest),
    Endpoint::Health(Service::Admin),
    Endpoint::Reflection(Service::Ingest),
    Endpoint::Reflection(Service::Admin),
    Endpoint::Metrics(Service::Ingest),
    Endpoint::Metrics(Service::Admin),
    Endpoint::Dashboard,
    // Twice more with other shapes of a missing credential, below in `authorization`.
    Endpoint::IngestHttpPost,
    Endpoint::AdminHttpList,
    Endpoint::AdminList,
];

impl Endpoint {
    /// The scope it needs, or `None` when open.
    fn needs(self) -> Option<Need> {
        match self {
            Endpoint::IngestStream | Endpoint::IngestUnary | Endpoint::IngestHttpPost => {
                Some(Need::Write)
            }
            Endpoint::AdminList
            | Endpoint::AdminSensors
            | Endpoint::AdminWatch
            | Endpoint::AdminGrpcWebList
            | Endpoint::AdminHttpList
            | Endpoint::AdminHttpSensors
            | Endpoint::AdminSse => Some(Need::Read),
            Endpoint::TokensList | Endpoint::TokensCreate => Some(Need::Admin),
            Endpoint::Health(_) | Endpoint::Reflection(_) | Endpoint::Metrics(_) => None,
            Endpoint::Dashboard => None,
        }
    }

    fn expected(self, caller: Caller) -> Outcome {
        let Some(need) = self.needs() else {
            return Outcome::Ok;
        };
        match caller {
            Caller::NoToken | Caller::WrongToken | Caller::RevokedToken => Outcome::Unauthenticated,
            Caller::AdminOnly if need == Need::Admin => Outcome::Ok,
            Caller::WrongScope | Caller::AdminOnly => Outcome::PermissionDenied,
            Caller::RightScope => Outcome::Ok,
        }
    }
}

struct Setup {
    ingest: String,
    admin: String,
    tokens: Tokens,
    http: reqwest::Client,
}

struct Tokens {
    writer: String,
    reader: String,
    admin: String,
    revoked: String,
    /// Our shape, but in no tokens file.
    wrong: String,
}

impl Setup {
    /// The token a caller sends to an endpoint needing `need`, if any.
    fn token(&self, caller: Caller, need: Option<Need>) -> Option<&str> {
        let tokens = &self.tokens;
        let (right, wrong_scope) = match need {
            Some(Need::Read) => (&tokens.reader, &tokens.writer),
            Some(Need::Admin) => (&tokens.admin, &tokens.reader),
            _ => (&tokens.writer, &tokens.reader),
        };
        match caller {
            Caller::NoToken => None,
            Caller::WrongToken => Some(&tokens.wrong),
            Caller::RevokedToken => Some(&tokens.revoked),
            Caller::WrongScope => Some(wrong_scope),
            Caller::AdminOnly => Some(&tokens.admin),
            Caller::RightScope => Some(right),
        }
    }

    async fn call(&self, endpoint: Endpoint, token: Option<&str>) -> Outcome {
        let url = |service| match service {
            Service::Ingest => &self.ingest,
            Service::Admin => &self.admin,
        };
        match endpoint {
            Endpoint::IngestStream => {
                let mut client = IngestServiceClient::new(channel(&self.ingest).await);
                let batch = ReadingBatch {
                    sequence: 1,
                    readings: vec![reading("kitchen-1")],
                };
                let request = authorized(tokio_stream::iter([batch]), token);
                Outcome::from(match client.stream_readings(request).await {
                    Ok(response) => {
                        let mut acks = response.into_inner();
                        acks.message().await.map(|ack| {
                            assert_eq!(ack.expect("one ack").accepted, 1);
                        })
                    }
                    Err(status) => Err(status),
                })
            }
            Endpoint::IngestUnary => {
                let mut client = IngestServiceClient::new(channel(&self.ingest).await);
                let batch = ReadingBatch {
                    sequence: 1,
                    readings: vec![reading("kitchen-1")],
                };
                Outcome::from(
                    client
                        .send_readings(authorized(batch, token))
                        .await
                        .map(drop),
                )
            }
            Endpoint::IngestHttpPost => {
                let body = r#"{"sensor_id": "kitchen-1", "measured_at": "2026-01-01T00:00:00Z", "celsius": 20}"#;
                let request = self
                    .http
                    .post(format!("{}/measurements", self.ingest))
                    .header(CONTENT_TYPE, "application/json")
                    .body(body);
                self.send(request, token).await
            }
            Endpoint::AdminList => {
                let mut client = AdminServiceClient::new(channel(&self.admin).await);
                let request = authorized(ListMeasurementsRequest::default(), token);
                Outcome::from(client.list_measurements(request).await.map(drop))
            }
            Endpoint::AdminSensors => {
                let mut client = AdminServiceClient::new(channel(&self.admin).await);
                let request = authorized(ListSensorsRequest::default(), token);
                Outcome::from(client.list_sensors(request).await.map(drop))
            }
            Endpoint::AdminWatch => {
                let mut client = AdminServiceClient::new(channel(&self.admin).await);
                let request = authorized(WatchMeasurementsRequest::default(), token);
                Outcome::from(client.watch_measurements(request).await.map(drop))
            }
            Endpoint::AdminGrpcWebList => self.grpc_web_list(token).await,
            Endpoint::AdminHttpList => {
                let request = self
                    .http
                    .get(format!("{}/measurements?limit=5", self.admin));
                self.send(request, token).await
            }
            Endpoint::AdminHttpSensors => {
                let request = self.http.get(format!("{}/sensors", self.admin));
                self.send(request, token).await
            }
            Endpoint::AdminSse => {
                let request = self.http.get(format!("{}/measurements/watch", self.admin));
                self.send(request, token).await
            }
            Endpoint::TokensList => {
                let request = self.http.get(format!("{}/tokens", self.admin));
                self.send(request, token).await
            }
            Endpoint::TokensCreate => {
                // Each call that gets through makes a token: a name of its own each time.
                static CREATED: AtomicUsize = AtomicUsize::new(0);
                let name = format!("table-{}", CREATED.fetch_add(1, Ordering::Relaxed));
                let request = self
                    .http
                    .post(format!("{}/tokens", self.admin))
                    .header(CONTENT_TYPE, "application/json")
                    .body(serde_json::json!({ "name": name, "scopes": ["read"] }).to_string());
                self.send(request, token).await
            }
            Endpoint::Health(service) => {
                let mut client = HealthClient::new(channel(url(service)).await);
                let request = authorized(HealthCheckRequest::default(), token);
                Outcome::from(client.check(request).await.map(drop))
            }
            Endpoint::Reflection(service) => {
                let mut client = ServerReflectionClient::new(channel(url(service)).await);
                let list = ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(MessageRequest::ListServices(String::new())),
                };
                let request = authorized(tokio_stream::iter([list]), token);
                Outcome::from(client.server_reflection_info(request).await.map(drop))
            }
            Endpoint::Metrics(service) => {
                let request = self.http.get(format!("{}/metrics", url(service)));
                self.send(request, token).await
            }
            Endpoint::Dashboard => {
                let request = self.http.get(format!("{}/", self.admin));
                let outcome = self.send(request, token).await;
                // The build may be absent in a checkout without `web/dist`: 404 is still "open".
                match outcome {
                    Outcome::Other(status) if status == "HTTP 404" => Outcome::Ok,
                    other => other,
                }
            }
        }
    }

    /// The body of a GET of `url` with `token`, whatever its status.
    async fn get_text(&self, url: &str, token: &str) -> String {
        let request = self.http.get(url).header(AUTHORIZATION, bearer(token));
        request.send().await.unwrap().text().await.unwrap()
    }

    async fn send(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> Outcome {
        let request = match token {
            Some(token) => request.header(AUTHORIZATION, bearer(token)),
            None => request,
        };
        http_outcome(&request.send().await.expect("the service answers HTTP"))
    }

    /// ListMeasurements as a browser's gRPC-Web client sends it; a refusal comes as a
    /// trailers-only answer (the status in the headers).
    async fn grpc_web_list(&self, token: Option<&str>) -> Outcome {
        let message = ListMeasurementsRequest {
            page_size: 1,
            ..Default::default()
        }
        .encode_to_vec();
        let mut body = vec![0];
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(&message);
        let request = self
            .http
            .post(format!(
                "{}/sensorpipe.v1.AdminService/ListMeasurements",
                self.admin
            ))
            .header(CONTENT_TYPE, "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .body(body);
        let request = match token {
            Some(token) => request.header(AUTHORIZATION, bearer(token)),
            None => request,
        };
        let response = request.send().await.expect("admin answers gRPC-Web");
        assert_eq!(response.status(), 200, "gRPC-Web answers 200 and a status");
        let in_headers = response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap();
        let status = in_headers.unwrap_or_else(|| trailer_status(&body));
        let code = Code::from(status.parse::<i32>().expect("a numeric grpc-status"));
        if code == Code::Ok {
            let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
            ListMeasurementsResponse::decode(&body[5..5 + len]).expect("a response message");
        }
        Outcome::from(match code {
            Code::Ok => Ok(()),
            code => Err(tonic::Status::new(code, "")),
        })
    }
}

/// `grpc-status` from the trailer frame (flag 0x80) at the end of a gRPC-Web body.
fn trailer_status(body: &[u8]) -> String {
    let mut rest = body;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        if rest[0] & 0x80 != 0 {
            let trailers = String::from_utf8_lossy(&rest[5..5 + len]).into_owned();
            return trailers
                .lines()
                .find_map(|line| line.strip_prefix("grpc-status:"))
                .expect("grpc-status in the trailers")
                .trim()
                .to_owned();
        }
        rest = &rest[5 + len..];
    }
    panic!("no trailer frame in {body:?}");
}

async fn json_of(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("a JSON body")
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .expect("the service accepts gRPC connections")
}

fn authorized<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        let value = MetadataValue::try_from(bearer(token)).unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn reading(sensor_id: &str) -> Reading {
    Reading {
        sensor_id: sensor_id.into(),
        measured_at: Some(Timestamp::from(std::time::SystemTime::now())),
        celsius: 20.5,
    }
}

async fn setup(tokens: &TestTokens, reload: &str) -> (Setup, Services) {
    let (brokers, topic) = testkit::fresh_topic("auth", 1).await;
    let database_url = testkit::fresh_database("auth").await;
    let file = tokens.args();
    let args: Vec<&str> = file
        .iter()
        .map(String::as_str)
        .chain(["--auth-reload-interval", reload])
        .collect();
    let ingest = support::start_ingest(&brokers, &topic, &args).await;
    let admin = support::start_admin(&database_url, &args).await;
    let revoked = tokens.create("revoked", &["write", "read", "admin"]);
    tokens.revoke("revoked");
    let setup = Setup {
        ingest: ingest.url(""),
        admin: admin.url(""),
        tokens: Tokens {
            writer: tokens.create("writer", &["write"]),
            reader: tokens.create("reader", &["read"]),
            admin: tokens.create("operator", &["admin"]),
            revoked,
            wrong: "sp_0123456789ab_nottherightsecretnottherightsecretnottherig".into(),
        },
        http: reqwest::Client::new(),
    };
    let services = Services {
        ingest,
        admin,
        brokers,
        topic,
    };
    (setup, services)
}

struct Services {
    ingest: testkit::RunningService<ingest::Application>,
    admin: testkit::RunningService<admin::Application>,
    brokers: String,
    topic: String,
}

impl fmt::Debug for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Setup")
    }
}

/// Waits until `check` holds, for what the services reload in the background.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_every_kind_of_caller_as_documented() {
    let tokens = TestTokens::new();
    let (setup, services) = setup(&tokens, "50ms").await;
    // The tokens were made after the services started: they are in use once reloaded.
    eventually("the new tokens are loaded", || async {
        setup
            .call(Endpoint::AdminList, Some(&setup.tokens.reader))
            .await
            == Outcome::Ok
    })
    .await;
    let mut wrong = Vec::new();
    for endpoint in ENDPOINTS {
        for caller in CALLERS {
            let token = setup.token(caller, endpoint.needs());
            let outcome = setup.call(endpoint, token).await;
            let expected = endpoint.expected(caller);
            if outcome != expected {
                wrong.push(format!(
                    "{endpoint:?} by {caller:?}: got {outcome:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "answers not as documented:\n{}",
        wrong.join("\n")
    );

    // Credentials of the wrong shape are refused like a missing one, over gRPC and HTTP alike.
    for header in ["Basic d3JpdGVyOnNlY3JldA==", "Bearer", "bearer  ", "sp_x"] {
        let http = setup
            .http
            .post(format!("{}/measurements", setup.ingest))
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, header)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(http_outcome(&http), Outcome::Unauthenticated, "{header:?}");
        let mut client = AdminServiceClient::new(channel(&setup.admin).await);
        let mut request = Request::new(ListSensorsRequest::default());
        request
            .metadata_mut()
            .insert("authorization", MetadataValue::try_from(header).unwrap());
        let status = client.list_sensors(request).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{header:?}: {status:?}"
        );
    }

    // No answer repeats a token, right or wrong.
    let body = setup
        .get_text(
            &format!("{}/measurements", setup.admin),
            &setup.tokens.writer,
        )
        .await;
    assert!(body.contains("lacks the `read` scope"), "{body}");
    assert!(!body.contains(&setup.tokens.writer), "{body}");
    let metrics = testkit::fetch_metrics(&setup.admin).await;
    assert!(!metrics.contains("sp_"), "no token in /metrics");
    assert_eq!(
        testkit::metric_value(&metrics, "sensorpipe_auth_enabled"),
        1.0
    );
    services.ingest.stop().await;
    services.admin.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_token_writes_only_its_own_sensors() {
    let tokens = TestTokens::new();
    let device = tokens.create("kitchen", &["write:kitchen-"]);
    let (setup, services) = setup(&tokens, "1s").await;
    let sensors = ["kitchen-1", "garage-1", "kitchen-2", "kitchen"];

    let mut client = IngestServiceClient::new(channel(&setup.ingest).await);
    let batch = ReadingBatch {
        sequence: 7,
        readings: sensors.iter().map(|id| reading(id)).collect(),
    };
    let ack = client
        .send_readings(authorized(batch, Some(&device)))
        .await
        .expect("a batch with some permitted readings is accepted")
        .into_inner();
    assert_eq!(ack.accepted, 2, "{ack:?}");
    let rejected: Vec<(u32, RejectReason, &str)> = ack
        .rejects
        .iter()
        .map(|r| (r.index, r.reason(), r.field.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (1, RejectReason::SensorNotPermitted, "sensor_id"),
            (3, RejectReason::SensorNotPermitted, "sensor_id"),
        ]
    );
    assert!(
        ack.rejects[0].message.contains("`kitchen-`"),
        "the message names the prefix: {:?}",
        ack.rejects[0]
    );

    // HTTP: the same, per reading, and a batch with none permitted is a 400 naming the field.
    let post = |body: String| {
        setup
            .http
            .post(format!("{}/measurements", setup.ingest))
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, bearer(&device))
            .body(body)
            .send()
    };
    let json = |id: &str| {
        format!(r#"{{"sensor_id": "{id}", "measured_at": "2026-01-01T00:00:00Z", "celsius": 1}}"#)
    };
    let answer = post(format!("[{}, {}]", json("kitchen-3"), json("hall-1")))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body = json_of(answer).await;
    assert_eq!(body["accepted"], 1, "{body}");
    assert_eq!(body["rejects"][0]["index"], 1, "{body}");
    assert_eq!(
        body["rejects"][0]["reason"], "SENSOR_NOT_PERMITTED",
        "{body}"
    );
    let answer = post(json("hall-1")).await.unwrap();
    assert_eq!(answer.status(), 400);
    let body = json_of(answer).await;
    assert_eq!(body["error"]["field"], "sensor_id", "{body}");

    services.ingest.stop().await;
    let stored: Vec<String> = testkit::read_topic(&services.brokers, &services.topic)
        .await
        .into_iter()
        .map(|record| record.record.sensor_id)
        .collect();
    let mut stored = stored;
    stored.sort();
    assert_eq!(stored, ["kitchen-1", "kitchen-2", "kitchen-3"]);
    services.admin.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_is_refused_without_a_restart() {
    let tokens = TestTokens::new();
    let reader = tokens.create("dashboard", &["read"]);
    let (setup, services) = setup(&tokens, "100ms").await;
    assert_eq!(
        setup.call(Endpoint::AdminHttpList, Some(&reader)).await,
        Outcome::Ok
    );
    assert_eq!(
        setup.call(Endpoint::AdminList, Some(&reader)).await,
        Outcome::Ok
    );
    tokens.revoke("dashboard");
    eventually("the revoked token is refused over HTTP", || async {
        setup.call(Endpoint::AdminHttpList, Some(&reader)).await == Outcome::Unauthenticated
    })
    .await;
    assert_eq!(
        setup.call(Endpoint::AdminList, Some(&reader)).await,
        Outcome::Unauthenticated
    );
    // A broken tokens file keeps the last good set: nobody is let in, nobody locked out.
    let still = tokens.create("still", &["read"]);
    eventually("the new token is accepted", || async {
        setup.call(Endpoint::AdminHttpList, Some(&still)).await == Outcome::Ok
    })
    .await;
    std::fs::write(&tokens.file, "{ not json").unwrap();
    eventually("the broken file is noticed", || async {
        let metrics = testkit::fetch_metrics(&setup.admin).await;
        testkit::metric_value(&metrics, "sensorpipe_auth_tokens_file_invalid") == 1.0
    })
    .await;
    assert_eq!(
        setup.call(Endpoint::AdminHttpList, Some(&still)).await,
        Outcome::Ok
    );
    assert_eq!(
        setup.call(Endpoint::AdminHttpList, Some(&reader)).await,
        Outcome::Unauthenticated
    );
    services.ingest.stop().await;
    services.admin.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_takes_only_json_posts_so_no_web_page_can_forge_one() {
    let tokens = TestTokens::new();
    let (setup, services) = setup(&tokens, "1s").await;
    let writer = tokens.create("browser-victim", &["write"]);
    eventually("the token is loaded", || async {
        setup.call(Endpoint::IngestHttpPost, Some(&writer)).await == Outcome::Ok
    })
    .await;
    let body = r#"{"sensor_id": "forged-1", "measured_at": "2026-01-01T00:00:00Z", "celsius": 1}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = setup
            .http
            .post(format!("{}/measurements", setup.ingest))
            .header(AUTHORIZATION, bearer(&writer))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 415, "{content_type:?}");
        let error = json_of(answer).await;
        assert_eq!(error["error"]["field"], "content-type", "{error}");
    }
    let answer = setup
        .http
        .post(format!("{}/measurements", setup.ingest))
        .header(AUTHORIZATION, bearer(&writer))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body.replace("forged", "real"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    services.ingest.stop().await;
    let stored: Vec<String> = testkit::read_topic(&services.brokers, &services.topic)
        .await
        .into_iter()
        .map(|record| record.record.sensor_id)
        .filter(|id| id != "kitchen-1")
        .collect();
    assert_eq!(stored, ["real-1"], "no forged reading stored");
    services.admin.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_auth_on_only_configured_origins_may_call_from_a_browser() {
    let tokens = TestTokens::new();
    let database_url = testkit::fresh_database("auth_cors").await;
    let file = tokens.args();
    let args: Vec<&str> = file
        .iter()
        .map(String::as_str)
        .chain([
            "--cors-allowed-origins",
            "https://dash.example,http://127.0.0.1:8080",
        ])
        .collect();
    let admin = support::start_admin(&database_url, &args).await;
    let open = support::start_admin(&database_url, &["--insecure-no-auth"]).await;
    let http = reqwest::Client::new();
    let preflight = |url: String, origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web",
            )
            .send()
    };
    let allowed = |response: reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let path = "/sensorpipe.v1.AdminService/ListMeasurements";
    for origin in ["https://dash.example", "http://127.0.0.1:8080"] {
        let answer = preflight(admin.url(path), origin).await.unwrap();
        let headers = answer
            .headers()
            .get("access-control-allow-headers")
            .map(|v| v.to_str().unwrap().to_lowercase());
        assert!(headers.unwrap_or_default().contains("authorization"));
        assert_eq!(allowed(answer).as_deref(), Some(origin));
    }
    let answer = preflight(admin.url(path), "https://evil.example")
        .await
        .unwrap();
    assert_eq!(
        allowed(answer),
        None,
        "an origin not configured is not allowed"
    );
    let answer = preflight(open.url(path), "https://evil.example")
        .await
        .unwrap();
    assert_eq!(
        allowed(answer).as_deref(),
        Some("*"),
        "with auth off, any origin"
    );
    admin.stop().await;
    open.stop().await;
}

/// An `admin` token manages tokens over HTTP: it creates a device token (the secret answered
/// once, never listed), which ingest then takes for its own sensors only; it lists tokens without
/// secrets or hashes; it revokes the device token, which ingest then refuses, all without a
/// restart. Bad requests are refused naming their field, a non-JSON body with 415.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_token_manages_tokens_through_the_api() {
    let tokens = TestTokens::new();
    let (setup, services) = setup(&tokens, "50ms").await;
    let admin_token = &setup.tokens.admin;
    eventually("the admin token is loaded", || async {
        setup.call(Endpoint::TokensList, Some(admin_token)).await == Outcome::Ok
    })
    .await;
    let tokens_url = format!("{}/tokens", setup.admin);
    let post = |body: &str, content_type: &str| {
        setup
            .http
            .post(&tokens_url)
            .header(AUTHORIZATION, bearer(admin_token))
            .header(CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
    };

    let answer = post(
        r#"{"name": "kitchen", "scopes": ["write:kitchen-"]}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 201);
    let created = json_of(answer).await;
    let device = created["token"].as_str().expect("the secret").to_owned();
    assert_eq!(created["name"], "kitchen", "{created}");
    assert_eq!(created["scopes"], serde_json::json!(["write:kitchen-"]));
    let id = created["id"].as_str().expect("an id").to_owned();
    assert!(device.starts_with(&format!("sp_{id}_")), "{created}");

    let write = |sensor: &'static str, token: String| {
        let setup = &setup;
        async move {
            let mut client = IngestServiceClient::new(channel(&setup.ingest).await);
            let batch = ReadingBatch {
                sequence: 1,
                readings: vec![reading(sensor)],
            };
            client.send_readings(authorized(batch, Some(&token))).await
        }
    };
    eventually("ingest takes the new device token", || async {
        write("kitchen-1", device.clone()).await.is_ok()
    })
    .await;
    let ack = write("kitchen-1", device.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.accepted, 1);
    let ack = write("garage-1", device.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.accepted, 0, "outside the token's prefix");
    assert_eq!(
        ack.rejects[0].reason(),
        RejectReason::SensorNotPermitted,
        "{ack:?}"
    );

    let listed = setup.get_text(&tokens_url, admin_token).await;
    let list: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|token| token["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"kitchen") && names.contains(&"operator"),
        "{listed}"
    );
    assert!(
        !listed.contains(&device) && !listed.contains("sha256"),
        "{listed}"
    );
    let secret = device.rsplit('_').next().unwrap();
    assert!(!listed.contains(secret), "{listed}");

    // Refusals, each naming what is wrong; none makes a token.
    let refusals = [
        (
            r#"{"name": "kitchen", "scopes": ["read"]}"#,
            "application/json",
            409,
            "name",
        ),
        (
            r#"{"name": "x", "scopes": ["rule"]}"#,
            "application/json",
            400,
            "scopes[0]",
        ),
        (
            r#"{"name": "x", "scopes": []}"#,
            "application/json",
            400,
            "scopes",
        ),
        (r#"{"scopes": ["read"]}"#, "application/json", 400, "name"),
        (
            r#"{"name": "", "scopes": ["read"]}"#,
            "application/json",
            400,
            "name",
        ),
        (
            r#"{"name": "x", "scopes": ["read"]}"#,
            "text/plain",
            415,
            "content-type",
        ),
    ];
    for (body, content_type, status, field) in refusals {
        let answer = post(body, content_type).await.unwrap();
        assert_eq!(answer.status(), status, "{body} as {content_type}");
        let error = json_of(answer).await;
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }

    let revoke = |id: String| {
        setup
            .http
            .delete(format!("{tokens_url}/{id}"))
            .header(AUTHORIZATION, bearer(admin_token))
            .send()
    };
    let answer = revoke(id.clone()).await.unwrap();
    assert_eq!(answer.status(), 200);
    let revoked = json_of(answer).await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    eventually("ingest refuses the revoked device token", || async {
        write("kitchen-1", device.clone())
            .await
            .is_err_and(|status| status.code() == Code::Unauthenticated)
    })
    .await;
    let answer = revoke(id).await.unwrap();
    assert_eq!(answer.status(), 404, "revoked already");
    assert_eq!(json_of(answer).await["error"]["field"], "id");

    // A reader may not manage tokens.
    let answer = setup
        .http
        .delete(format!("{tokens_url}/{}", "0123456789ab"))
        .header(AUTHORIZATION, bearer(&setup.tokens.reader))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    services.ingest.stop().await;
    services.admin.stop().await;
}
