//! The dashboard in a real browser (headless chromium, driven by the scenarios of `web/tests/`)
//! against a real admin on a fresh database, in each of the two ways a browser reaches it: admin's
//! own port, and a real Envoy from `envoy.yaml` in front of that admin. What the page must show is
//! worked out here from the rows the test saved, or asked of the admin's gRPC API where the page
//! must match it (the table's pages). Through Envoy, everything is TLS: the browser to Envoy, and
//! Envoy to admin. With auth on, both ways again (the page asks for a read token and uses it), and
//! across origins, where admin's origin list decides both ways. Screenshots of every scenario at
//! laptop and phone size:
//! `target/dashboard-screenshots/<way>-<scenario>[-phone].png`.

mod support;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};
use diesel_async::AsyncPgConnection;
use prost_types::Timestamp;
use sensorpipe::{
    db::{NewMeasurement, to_timestamp},
    proto::v1::{ListMeasurementsRequest, Measurement, admin_service_client::AdminServiceClient},
};
use serde_json::{Value, json};
use testkit::{RunningService, TestTokens, auth::bearer, envoy::Envoy, tls::TestCa};
use tokio::runtime::Runtime;
use tonic::{Code, Request, transport::Channel};

use support::{browser::Scenario, start_admin_at};

/// The sensors the live chart follows; the others' rows must stay off it.
const CHARTED: [&str; 2] = ["lab-1", "lab-2"];
/// The table's filter: one sensor, a time range, pages small enough to make several.
const TABLE_SENSOR: &str = "lab-2";
const TABLE_PAGE_SIZE: i32 = 4;

#[derive(Clone, Copy, PartialEq)]
enum Way {
    /// The page and its API at `http://<admin>/`.
    Admin,
    /// The page and its API at Envoy's listener (https), admin behind it (TLS too).
    Envoy,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_on_admins_own_port() {
    every_scenario(Way::Admin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_through_envoy() {
    every_scenario(Way::Envoy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_asks_for_a_read_token_on_admins_own_port() {
    asks_for_a_read_token(Way::Admin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_asks_for_a_read_token_through_envoy() {
    asks_for_a_read_token(Way::Envoy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_across_origins_with_auth_on_admins_own_port() {
    across_origins_with_auth_on(Way::Admin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_across_origins_with_auth_on_through_envoy() {
    across_origins_with_auth_on(Way::Envoy).await;
}

/// With auth on, a page on an origin admin allows calls the API across origins with the token; a
/// page on another origin gets nothing. The allowed page is admin's own (at `localhost`, the API
/// at `127.0.0.1`: the host name alone makes another origin); the API is admin's own port or
/// Envoy, which leaves CORS to admin's list.
async fn across_origins_with_auth_on(way: Way) {
    let tokens = TestTokens::new();
    let read = tokens.create("dashboard", &["read"]);
    let port = testkit::free_port();
    let scheme = if way == Way::Envoy { "https" } else { "http" };
    let page_origin = format!("{scheme}://localhost:{port}");
    let mut args = tokens.args().to_vec();
    args.extend(["--cors-allowed-origins".to_owned(), page_origin.clone()]);
    let mut stage = Stage::at(way, format!("127.0.0.1:{port}"), args).await;
    let input = json!({
        "allowed_page_url": format!("{page_origin}/"),
        "api_url": stage.api_url(),
    });
    let mut page = stage.scenario("auth-cors", "signin-cors", input);
    page.send(json!({ "tokens": { "read": read } })).await;
    page.finish().await;
    stage.check_the_way_in().await;
}

async fn every_scenario(way: Way) {
    let mut stage = Stage::new(way, Vec::new()).await;
    // The sensors view first: its ages are only right while the seeded rows are seconds old.
    sensors_view(&stage).await;
    table(&stage).await;
    cors(&stage).await;
    // Last: it saves rows and restarts the admin.
    live_chart_across_admin_restarts(&mut stage).await;
    stage.check_the_way_in().await;
}

/// With auth on (admin started with a tokens file): the page asks for a read token; a token admin
/// does not know and one without the `read` scope each get their own message; the read token
/// shows the data, the live watch included; a reload of the tab keeps it; "Forget token" asks
/// again; and once the token is revoked, the next load asks again, saying why. The tokens go to
/// the scenario on its stdin, never on a command line.
async fn asks_for_a_read_token(way: Way) {
    let tokens = TestTokens::new();
    let read = tokens.create("dashboard", &["read"]);
    let no_read = tokens.create("device", &["write"]);
    // A real token, of another tokens file: well formed, unknown to this admin.
    let wrong = TestTokens::new().create("dashboard", &["read"]);
    let mut stage = Stage::new(way, tokens.args().to_vec()).await;

    let input = json!({
        "url": stage.page_url(),
        "sensors": latest_points(&stage.saved),
        "live_sensor": CHARTED[0],
    });
    let mut page = stage.scenario("auth", "signin", input);
    page.send(json!({ "tokens": { "wrong": wrong, "no_read": no_read, "read": read } }))
        .await;
    page.expect("signed_in").await;
    let since = stage.save_now(&[(CHARTED[0], 21.88)]).await;
    page.send(json!({ "expect": since.iter().map(point).collect::<Vec<_>>() }))
        .await;
    page.expect("seen").await;

    page.expect("revoke").await;
    tokens.revoke("dashboard");
    stage.wait_until_refused(&read).await;
    page.send(json!({ "event": "revoked" })).await;
    page.expect("done").await;
    page.finish().await;
    stage.check_the_way_in().await;
}

/// Every saved sensor with its latest reading, as the page reports them.
fn latest_points(saved: &[NewMeasurement]) -> Vec<Value> {
    let mut latest: BTreeMap<&str, &NewMeasurement> = BTreeMap::new();
    for row in saved {
        let newest = latest.entry(&row.sensor_id).or_insert(row);
        if row.measured_at > newest.measured_at {
            *newest = row;
        }
    }
    latest.values().map(|row| point(row)).collect()
}

/// The sensors view lists exactly the saved sensors, each with its latest reading.
async fn sensors_view(stage: &Stage) {
    let sensors = latest_points(&stage.saved);
    assert_eq!(sensors.len(), 5, "the seed's sensors");
    let input = json!({ "url": stage.page_url(), "sensors": sensors });
    stage.scenario("sensors", "sensors", input).finish().await;
}

/// The table pages as `ListMeasurements` does with the same filter, shows the API's error for a
/// range it refuses next to the input it names, and downloads every row of the filter as CSV.
async fn table(stage: &Stage) {
    let mut of_sensor: Vec<&NewMeasurement> = stage
        .saved
        .iter()
        .filter(|row| row.sensor_id == TABLE_SENSOR)
        .collect();
    of_sensor.sort_by_key(|row| std::cmp::Reverse(row.measured_at));
    // From the 31st newest (inclusive) to the 16th newest (exclusive): both bounds are rows'
    // times, so an off-by-one at either end shows.
    let (start, end) = (of_sensor[30].measured_at, of_sensor[15].measured_at);
    let in_range = &of_sensor[16..=30];
    let filter = ListMeasurementsRequest {
        page_size: TABLE_PAGE_SIZE,
        sensor_id: TABLE_SENSOR.into(),
        start_time: Some(to_timestamp(start)),
        end_time: Some(to_timestamp(end)),
        page_token: String::new(),
    };
    let mut client = stage.grpc().await;
    let pages = testkit::list_pages(&mut client, &filter, 1000).await;
    assert!(
        pages.len() >= 3,
        "{} pages: too few to page through",
        pages.len()
    );
    let listed: Vec<_> = pages.iter().flatten().map(identity).collect();
    let saved: Vec<_> = in_range.iter().map(|row| saved_identity(row)).collect();
    assert_eq!(
        listed, saved,
        "ListMeasurements gives the saved rows of the filter"
    );
    let one_page = ListMeasurementsRequest {
        page_size: 1000,
        ..filter.clone()
    };
    let all_rows = testkit::list_pages(&mut client, &one_page, 1000)
        .await
        .concat();

    let refused = client
        .list_measurements(ListMeasurementsRequest {
            start_time: filter.end_time,
            end_time: filter.start_time,
            ..filter.clone()
        })
        .await
        .expect_err("admin refuses an end before the start");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let (field, _) = refused
        .message()
        .split_once(": ")
        .unwrap_or_else(|| panic!("the message names its field: {refused:?}"));
    assert_eq!(field, "end_time", "{refused:?}");

    let input = json!({
        "url": stage.page_url(),
        "pages": pages.iter().map(|page| page.iter().map(api_row).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "filter": {
            "sensor_id": TABLE_SENSOR,
            "start_time": rfc3339(start),
            "end_time": rfc3339(end),
            "page_size": TABLE_PAGE_SIZE,
        },
        "bad_range": {
            "start_time": rfc3339(end),
            "end_time": rfc3339(start),
            "field": field,
            "message_prefix": refused.message(),
        },
        "csv_rows": all_rows.iter().map(api_row).collect::<Vec<_>>(),
    });
    stage.scenario("table", "table", input).finish().await;
}

/// A page from one origin calling the API on another: the browser's preflight is answered (by
/// admin, also through Envoy, which forwards it). The page from admin's own port at `localhost`,
/// the API at `127.0.0.1` (the host name alone makes another origin): admin's own, or Envoy.
async fn cors(stage: &Stage) {
    let page = format!(
        "{}://localhost:{}/",
        stage.admin_scheme(),
        stage.admin().addr.port()
    );
    let input = json!({ "page_origin_url": page, "api_url": stage.api_url() });
    stage.scenario("cors", "cors", input).finish().await;
}

/// How the admin goes away in the middle of a watch.
#[derive(Debug, Clone, Copy)]
enum Outage {
    /// A graceful stop, as on SIGTERM: watches are ended with UNAVAILABLE, calls drained.
    Stop,
    /// A crash: connections drop mid-stream, nobody says why.
    Crash,
}

/// The live chart loads its window, then shows every row saved after the page opened exactly
/// once: while the admin serves, and across a stop and a crash of the admin (rows saved while it
/// was down included), with the page saying it is reconnecting meanwhile.
async fn live_chart_across_admin_restarts(stage: &mut Stage) {
    let initial: Vec<Value> = stage
        .saved
        .iter()
        .filter(|row| CHARTED.contains(&row.sensor_id.as_str()))
        .map(point)
        .collect();
    let input = json!({ "url": stage.page_url(), "sensors": CHARTED, "initial": initial });
    let mut page = stage.scenario("live", "live", input);
    page.expect("ready").await;

    let mut since_opened = stage
        .save_now(&[("lab-1", 21.93), ("lab-2", 23.35), ("roof-4", -1.75)])
        .await;
    page.send(expected(&since_opened)).await;
    page.expect("seen").await;

    let outages = [
        (
            Outage::Stop,
            [("lab-1", 21.97), ("freezer-3", -18.62)],
            [("lab-2", 23.31), ("lab-1", 22.04)],
        ),
        (
            Outage::Crash,
            [("lab-2", 23.28), ("lab-1", 22.1)],
            [("roof-4", -1.8), ("lab-2", 23.24)],
        ),
    ];
    for (outage, while_down, once_back) in outages {
        stage.stop_admin(outage).await;
        page.send(json!({ "event": "admin_down" })).await;
        page.expect("reconnecting").await;
        since_opened.extend(stage.save_now(&while_down).await);
        stage.start_admin().await;
        page.send(json!({ "event": "admin_up" })).await;
        page.expect("live").await;
        since_opened.extend(stage.save_now(&once_back).await);
        page.send(expected(&since_opened)).await;
        page.expect("seen").await;
        if let Some(envoy) = &mut stage.envoy {
            envoy.assert_running();
        }
    }
    page.send(json!({ "event": "end" })).await;
    page.expect("done").await;
    page.finish().await;
}

/// live.mjs's `expect`: every charted row of `rows`.
fn expected(rows: &[NewMeasurement]) -> Value {
    let charted: Vec<Value> = rows
        .iter()
        .filter(|row| CHARTED.contains(&row.sensor_id.as_str()))
        .map(point)
        .collect();
    json!({ "expect": charted })
}

/// One way in: a fresh database with the seed, an admin on a port fixed up front (so a restarted
/// admin is where the page and Envoy look), and Envoy in front of it when that is the way.
struct Stage {
    way: Way,
    database_url: String,
    db: AsyncPgConnection,
    listen_addr: String,
    /// Admin's flags besides its address and database (the tokens file, when auth is on; TLS,
    /// through Envoy).
    admin_args: Vec<String>,
    admin: Option<CrashableAdmin>,
    /// Through Envoy: the CA of the certificate Envoy and admin both serve.
    ca: Option<TestCa>,
    envoy: Option<Envoy>,
    /// Every row saved so far, in save order.
    saved: Vec<NewMeasurement>,
}

impl Stage {
    /// A stage whose admin listens on a free port of its own.
    async fn new(way: Way, admin_args: Vec<String>) -> Self {
        let listen_addr = format!("127.0.0.1:{}", testkit::free_port());
        Self::at(way, listen_addr, admin_args).await
    }

    /// A stage whose admin listens on `listen_addr`, with `admin_args` besides its address and
    /// database.
    async fn at(way: Way, listen_addr: String, mut admin_args: Vec<String>) -> Self {
        let ca = (way == Way::Envoy).then(|| TestCa::new("dashboard"));
        if let Some(ca) = &ca {
            admin_args.extend(ca.server_args());
        }
        let database_url = testkit::fresh_database("dashboard").await;
        let db = sensorpipe::db::connect(&database_url)
            .await
            .expect("the test database");
        let mut stage = Self {
            way,
            database_url,
            db,
            listen_addr,
            admin_args,
            admin: None,
            ca,
            envoy: None,
            saved: Vec::new(),
        };
        stage.save(seed(Utc::now())).await;
        stage.start_admin().await;
        if let Some(ca) = &stage.ca {
            stage.envoy = Some(Envoy::start(stage.admin().addr, ca).await);
        }
        stage
    }

    fn admin(&self) -> &RunningService<admin::Application> {
        let admin = self.admin.as_ref().expect("admin is running");
        admin.service.as_ref().expect("admin is serving")
    }

    async fn start_admin(&mut self) {
        let admin =
            CrashableAdmin::start(&self.listen_addr, &self.database_url, &self.admin_args).await;
        self.admin = Some(admin);
    }

    async fn stop_admin(&mut self, outage: Outage) {
        let admin = self.admin.take().expect("admin is running");
        match outage {
            Outage::Stop => admin.stop().await,
            Outage::Crash => admin.crash().await,
        }
    }

    /// The dashboard's address for this way.
    fn page_url(&self) -> String {
        format!("{}/", self.api_url())
    }

    /// The API's base URL for this way: admin's own port, or Envoy.
    fn api_url(&self) -> String {
        match &self.envoy {
            None => format!("http://{}", self.listen_addr),
            Some(envoy) => envoy.url(),
        }
    }

    /// How admin's own port is reached: TLS when Envoy is in front of it.
    fn admin_scheme(&self) -> &'static str {
        if self.ca.is_some() { "https" } else { "http" }
    }

    /// Runs `script` in the browser, trusting this stage's certificate if it has one.
    fn scenario(&self, script: &str, shot: &str, input: Value) -> Scenario {
        Scenario::start_trusting(script, &self.shot(shot), input, self.ca.as_ref())
    }

    /// `<way>-<scenario>`: the screenshots' name.
    fn shot(&self, scenario: &str) -> String {
        let way = match self.way {
            Way::Admin => "admin",
            Way::Envoy => "envoy",
        };
        format!("{way}-{scenario}")
    }

    async fn grpc(&self) -> AdminServiceClient<Channel> {
        let channel = match &self.ca {
            None => {
                Channel::from_shared(self.admin().url(""))
                    .expect("a valid URL")
                    .connect()
                    .await
            }
            Some(ca) => ca.channel(self.admin().addr, None).await,
        };
        AdminServiceClient::new(channel.expect("admin accepts gRPC connections"))
    }

    /// Waits (at most 10 s) until admin refuses `token`, as it does once its tokens file, reloaded
    /// in the background, says the token is revoked.
    async fn wait_until_refused(&self, token: &str) {
        let mut client = self.grpc().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut request = Request::new(ListMeasurementsRequest {
                page_size: 1,
                ..Default::default()
            });
            let value = bearer(token).parse().expect("a header value");
            request.metadata_mut().insert("authorization", value);
            match client.list_measurements(request).await {
                Err(status) if status.code() == Code::Unauthenticated => return,
                Ok(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!("admin still answers a revoked token after 10 s: {other:?}"),
            }
        }
    }

    /// Saves `rows` in one statement, as one saver batch would.
    async fn save(&mut self, rows: Vec<NewMeasurement>) -> Vec<NewMeasurement> {
        let inserted = testkit::rows::insert(&mut self.db, &rows)
            .await
            .expect("rows insert");
        assert_eq!(inserted, rows.len());
        self.saved.extend(rows.iter().cloned());
        rows
    }

    /// Saves one reading per `(sensor, celsius)`, measured now.
    async fn save_now(&mut self, readings: &[(&str, f64)]) -> Vec<NewMeasurement> {
        let rows = readings
            .iter()
            .map(|&(sensor, celsius)| reading(sensor, now_in_micros(), celsius))
            .collect();
        self.save(rows).await
    }

    /// Through Envoy, the page's calls really went through it: the gRPC-Web calls to the `admin`
    /// cluster, the page's files to `admin_http`; and Envoy outlived both admin outages.
    async fn check_the_way_in(&mut self) {
        let Some(envoy) = &mut self.envoy else {
            return;
        };
        envoy.assert_running();
        for cluster in ["admin", "admin_http"] {
            let requests = envoy
                .stat(&format!("cluster.{cluster}.upstream_rq_total"))
                .await;
            assert!(requests > 0, "no request went to cluster {cluster}");
        }
    }
}

/// Admin serving from a runtime of its own, so that it can crash for real. `RunningService::kill`
/// aborts only the server's task: the tasks of open connections outlive it, and admin's watches
/// then end politely with its shutdown UNAVAILABLE, exactly as on a graceful stop. Shutting the
/// whole runtime down drops every task of this admin at once, connections and database pool
/// included: to the page (and to Envoy), a crash.
struct CrashableAdmin {
    service: Option<RunningService<admin::Application>>,
    runtime: Option<Runtime>,
}

impl CrashableAdmin {
    /// Admin on `listen_addr` reading `database_url`, serving the built dashboard; `args` are
    /// extra flags.
    async fn start(listen_addr: &str, database_url: &str, args: &[String]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("admin")
            .enable_all()
            .build()
            .expect("a runtime for admin");
        let (listen_addr, database_url) = (listen_addr.to_owned(), database_url.to_owned());
        let web_dir = testkit::repo_root().join("web/dist");
        let web_dir = web_dir.to_str().expect("a UTF-8 path").to_owned();
        let mut args: Vec<String> = args.to_vec();
        args.extend(["--web-dir".to_owned(), web_dir]);
        let service = runtime
            .spawn(async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                start_admin_at(&listen_addr, &database_url, &args).await
            })
            .await
            .unwrap_or_else(|e| panic!("admin does not start: {e}"));
        Self {
            service: Some(service),
            runtime: Some(runtime),
        }
    }

    /// A graceful stop; panics unless admin returns `Ok`.
    async fn stop(mut self) {
        self.service.take().expect("serving").stop().await;
        self.shut_down().await;
    }

    /// Every task of this admin dropped where it stands; returns once its port is free.
    async fn crash(mut self) {
        self.shut_down().await;
    }

    async fn shut_down(&mut self) {
        let runtime = self.runtime.take().expect("a runtime");
        tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(10)))
            .await
            .expect("admin's runtime shuts down");
    }
}

impl Drop for CrashableAdmin {
    fn drop(&mut self) {
        // A test that panicked: dropping a runtime would block inside the test's own runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Five sensors of believable readings, timed back from `now` in whole seconds plus distinct
/// microseconds (which every view must keep). Four report every 15 s over the last 10 minutes,
/// the latest ~5 s old; `old-5` stopped two hours ago (stale). A freezer reads below zero; the
/// roof sensor crosses zero, with a -0.0 on the way and a negative latest reading. (A -0.0 as the
/// latest reading fails sensors.mjs today: the page's `data-celsius` writes -0 as "0".)
fn seed(now: DateTime<Utc>) -> Vec<NewMeasurement> {
    let now = now.trunc_subsecs(0);
    let mut rows = Vec::new();
    for k in 0..40 {
        let at = |offset: i64| {
            now - TimeDelta::seconds(5 + 15 * k + offset) + TimeDelta::microseconds(123_456 + k)
        };
        let step = k as f64;
        rows.push(reading(
            "lab-1",
            at(0),
            round2(21.2 + 0.6 * (step / 5.0).sin()),
        ));
        rows.push(reading(
            "lab-2",
            at(3),
            round2(23.1 + 0.4 * (step / 4.0).cos()),
        ));
        rows.push(reading(
            "freezer-3",
            at(7),
            round2(-18.4 + 0.5 * (step / 3.0).sin()),
        ));
        let roof = (10 * k - 150) as f64 / 100.0;
        rows.push(reading(
            "roof-4",
            at(11),
            if roof == 0.0 { -0.0 } else { roof },
        ));
    }
    for k in 0..3 {
        let at = now - TimeDelta::hours(2) - TimeDelta::seconds(15 * k);
        rows.push(reading("old-5", at, 15.25 + 0.5 * k as f64));
    }
    rows
}

fn reading(sensor: &str, measured_at: DateTime<Utc>, celsius: f64) -> NewMeasurement {
    NewMeasurement {
        sensor_id: sensor.into(),
        measured_at,
        celsius,
        ingested_at: measured_at + TimeDelta::milliseconds(250),
    }
}

fn round2(celsius: f64) -> f64 {
    (celsius * 100.0).round() / 100.0
}

/// Now, to the microsecond PostgreSQL keeps (it would round finer digits, not cut them).
fn now_in_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// What a saved row and a listed one share: sensor, measured_at, celsius, ingested_at.
type Identity = (String, DateTime<Utc>, f64, DateTime<Utc>);

fn saved_identity(row: &NewMeasurement) -> Identity {
    (
        row.sensor_id.clone(),
        row.measured_at,
        row.celsius,
        row.ingested_at,
    )
}

fn identity(row: &Measurement) -> Identity {
    (
        row.sensor_id.clone(),
        time(row.measured_at.as_ref()),
        row.celsius,
        time(row.ingested_at.as_ref()),
    )
}

/// A saved row as the page reports a point or a sensor's latest reading.
fn point(row: &NewMeasurement) -> Value {
    json!({
        "sensor_id": row.sensor_id,
        "measured_at": rfc3339(row.measured_at),
        "celsius": row.celsius,
    })
}

/// A listed row as the HTTP JSON gives it, which is what table.mjs compares with.
fn api_row(row: &Measurement) -> Value {
    json!({
        "sensor_id": row.sensor_id,
        "measured_at": rfc3339(time(row.measured_at.as_ref())),
        "celsius": row.celsius,
        "ingested_at": rfc3339(time(row.ingested_at.as_ref())),
        "saved_at": rfc3339(time(row.saved_at.as_ref())),
    })
}

/// RFC 3339 in UTC with six fraction digits, as the API writes times.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time(at: Option<&Timestamp>) -> DateTime<Utc> {
    let at = at.expect("a time is set");
    DateTime::from_timestamp(at.seconds, at.nanos as u32).expect("a valid time")
}
