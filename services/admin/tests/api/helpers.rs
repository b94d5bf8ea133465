//! A running admin service on a fresh database, with clients for each protocol and a way to
//! save rows as the saver would.

use chrono::{DateTime, Utc};
use diesel::sql_query;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sensorpipe::{
    db::{self, NewMeasurement, connect},
    proto::v1::{self, admin_service_client::AdminServiceClient},
};
use serde_json::Value;
use testkit::{
    RunningService, fresh_database,
    tls::{HttpVersion, TestCa},
};
use tonic::transport::Channel;

pub struct TestApp {
    pub service: RunningService<admin::Application>,
    pub database_url: String,
    pub grpc: AdminServiceClient<Channel>,
    pub http: reqwest::Client,
    /// `http://` or, over TLS, `https://127.0.0.1:<port>`.
    base_url: String,
    db: AsyncPgConnection,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// `args` are extra command-line flags, e.g. `["--watch-buffer", "64"]`.
    pub async fn spawn_with(args: &[&str]) -> Self {
        let (service, database_url) = Self::start(args).await;
        let channel = Channel::from_shared(service.url(""))
            .unwrap()
            .connect()
            .await
            .expect("admin accepts gRPC connections");
        Self::new(service, database_url, channel, reqwest::Client::new()).await
    }

    /// Admin with TLS on, its certificate from `ca`; the clients trust `ca` (and the HTTP one
    /// speaks HTTP/1.1, as browsers' gRPC-Web does).
    pub async fn spawn_over_tls(ca: &TestCa) -> Self {
        let args = ca.server_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (service, database_url) = Self::start(&args).await;
        let channel = ca
            .channel(service.addr, None)
            .await
            .expect("admin accepts gRPC over TLS");
        let http = ca.http_client(None, HttpVersion::Http1);
        let mut app = Self::new(service, database_url, channel, http).await;
        app.base_url = TestCa::url(app.service.addr, "");
        app
    }

    async fn start(args: &[&str]) -> (RunningService<admin::Application>, String) {
        let database_url = fresh_database("admin_test").await;
        let base = [
            "--database-url",
            &database_url,
            "--watch-poll-interval",
            "20ms",
        ];
        let service = RunningService::start_on_port_0(&base, args).await;
        (service, database_url)
    }

    async fn new(
        service: RunningService<admin::Application>,
        database_url: String,
        channel: Channel,
        http: reqwest::Client,
    ) -> Self {
        Self {
            base_url: service.url(""),
            service,
            grpc: AdminServiceClient::new(channel),
            http,
            db: connect(&database_url).await.expect("test database"),
            database_url,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// `GET` over HTTP: the status and the JSON body.
    pub async fn get_json(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path_and_query))
            .send()
            .await
            .expect("admin answers HTTP");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Saves rows, up to 10,000 per transaction, as saver batches would (summaries included).
    pub async fn save(&mut self, rows: &[NewMeasurement]) {
        for chunk in rows.chunks(10_000) {
            testkit::rows::insert(&mut self.db, chunk)
                .await
                .expect("rows insert");
        }
    }

    /// Runs SQL on the test database.
    pub async fn execute(&mut self, sql: &str) {
        sql_query(sql)
            .execute(&mut self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Stops the service the way a signal does and waits for it to exit.
    pub async fn stop(self) {
        self.service.stop().await;
    }
}

/// A row of sensor `sensor` measured `second` seconds (and `micros` microseconds) after a fixed
/// instant.
pub fn row(sensor: &str, second: i64, micros: u32) -> NewMeasurement {
    let measured_at = at(second, micros);
    NewMeasurement {
        sensor_id: sensor.to_owned(),
        measured_at,
        celsius: second as f64 / 10.0 + f64::from(micros) / 1e7,
        ingested_at: measured_at + chrono::Duration::milliseconds(250),
    }
}

pub fn at(second: i64, micros: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000 + second, micros * 1000).expect("valid time")
}

pub fn timestamp(at: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(db::to_timestamp(at))
}

/// 7 sensors over 100 seconds: every sensor reports on even seconds (ties across sensors on the
/// same instant), some also in between with microseconds, and one sensor only rarely: 741 rows.
pub fn dataset() -> Vec<NewMeasurement> {
    let mut rows = Vec::new();
    for second in 0..100 {
        for sensor in ["a", "b", "c", "d", "e", "f"] {
            if second % 2 == 0 {
                rows.push(row(sensor, second, 0));
            } else if sensor <= "c" {
                rows.push(row(sensor, second, 123_456));
            }
        }
        if second % 10 == 0 {
            rows.push(row("Z.rare:1", second, 1));
        }
    }
    rows
}

/// The order `ListMeasurements` promises: newest `measured_at` first, ties by `sensor_id`
/// descending (bytewise).
pub fn newest_first(rows: &[NewMeasurement]) -> Vec<(String, DateTime<Utc>)> {
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| (r.sensor_id.clone(), r.measured_at))
        .collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    keys
}

/// The key of a measurement as returned by gRPC.
pub fn key(m: &v1::Measurement) -> (String, DateTime<Utc>) {
    let ts = m.measured_at.expect("measured_at set");
    (
        m.sensor_id.clone(),
        DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("valid time"),
    )
}
