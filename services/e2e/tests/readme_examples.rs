//! Every admin example in the documentation (README.md and docs/*.md) runs as written and prints
//! what the documentation says it does.
//!
//! Each line of the documents' `sh`/`bash` code blocks that starts with `grpcurl ` or `curl ` and
//! targets the admin (`127.0.0.1:50052`) is one example. The test starts the admin in-process on
//! a fresh database seeded with known rows, points the example at it and runs it with `sh -c`,
//! README.md first, then docs/*.md by name, each in its own order. Every answer is compared with
//! what the seeded rows say it must be (the same rows, filters, order and pages), errors with the
//! field they must name; watches get rows saved while they run (or, resumed from `$CURSOR`,
//! exactly the rows saved after it). `$TOKEN` and `$CURSOR` are set to a real page token and
//! watch cursor, as a reader would. The admin serves TLS, as `scripts/dev up` runs it, with a test
//! CA that stands in for `.stack/tls/ca.pem`. A failure names the file and line of its example.
//!
//! grpcurl comes from `GRPCURL`, else `$STACK_DIR/go/bin/grpcurl` (`STACK_DIR` defaults to
//! `<repo>/.stack`), else `PATH`; `scripts/dev setup` installs it.

mod support;

use std::{
    collections::{BTreeMap, HashSet},
    path::PathBuf,
    process::{Output, Stdio},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, TimeZone, Timelike, Utc};
use prost::Message;
use sensorpipe::{
    db::{self, NewMeasurement},
    proto::v1::{
        ListSensorsResponse, WatchMeasurementsRequest, admin_service_client::AdminServiceClient,
    },
};
use serde_json::Value;
use support::start_admin;
use testkit::{
    RunningService,
    docs::{self, DOCS_DIR, FRONT_PAGE, LOCAL_CA, Place},
    tls::TestCa,
    tools::{grpcurl, quote},
};
use tokio::{
    io::AsyncReadExt,
    process::{Child, Command},
    sync::mpsc,
    time::{Instant, MissedTickBehavior, timeout_at},
};

/// The admin address the documented examples use; replaced by the test admin's.
const README_ADDR: &str = "127.0.0.1:50052";
/// The sensors of the seeded rows (and of the rows saved while watches run).
const SENSORS: [&str; 3] = ["lab-1", "lab-2", "lab-3"];
/// How long a watch example gets to print what it must.
const WATCH_DEADLINE: Duration = Duration::from_secs(30);
/// How often a row is saved while waiting for a watch that started "from now on" to print one.
const WATCH_FEED_EVERY: Duration = Duration::from_millis(200);
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: i64 = 1000;

// ------------------------------------------------------------------------------------ the docs

/// One example: a documented line, as written, and where it is.
#[derive(Debug, Clone)]
struct Example {
    /// The document, relative to the repository root (`docs/api.md`).
    file: String,
    line: usize,
    command: String,
}

impl std::fmt::Display for Example {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.command)
    }
}

/// The admin examples of every document, in order.
fn doc_examples() -> Vec<Example> {
    docs::documents()
        .into_iter()
        .flat_map(|file| admin_examples(&file, &docs::read(&file)))
        .collect()
}

/// The admin examples of one document, in order.
fn admin_examples(file: &str, text: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    for docs::Line {
        number,
        text: line,
        place,
    } in docs::lines(text)
    {
        if place != Place::Shell
            || !(line.starts_with("grpcurl ") || line.starts_with("curl "))
            || !line.contains(README_ADDR)
        {
            continue;
        }
        assert!(
            !line.trim_end().ends_with('\\'),
            "{file}:{number}: an admin example must fit on one line (no `\\` continuation): {line}"
        );
        examples.push(Example {
            file: file.to_owned(),
            line: number,
            command: line.to_owned(),
        });
    }
    examples
}

// ------------------------------------------------------------------------------------ rows

/// A row the test saved, and the transaction that saved it (`batch`: one insert each, in order,
/// so batch order is save order).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    sensor_id: String,
    measured_at: DateTime<Utc>,
    celsius: f64,
    ingested_at: DateTime<Utc>,
    batch: usize,
}

impl Row {
    /// The place in `ListMeasurements` order (newest first: compare reversed).
    fn newest_first_key(&self) -> (DateTime<Utc>, &str) {
        (self.measured_at, &self.sensor_id)
    }

    /// The place in save order, the order of watches.
    fn save_key(&self) -> (usize, &str, DateTime<Utc>) {
        (self.batch, &self.sensor_id, self.measured_at)
    }
}

/// The test database and every row saved in it.
struct Table {
    connection: diesel_async::AsyncPgConnection,
    rows: Vec<Row>,
    batches: usize,
    /// Makes the times of rows saved while watching unique, and never on a whole second (the
    /// seeded rows are).
    counter: u32,
}

impl Table {
    async fn new(database_url: &str) -> Self {
        Self {
            connection: db::connect(database_url).await.expect("connect"),
            rows: Vec::new(),
            batches: 0,
            counter: 0,
        }
    }

    /// Saves `rows` in one transaction; returns its batch number.
    async fn save(&mut self, rows: Vec<(String, DateTime<Utc>, f64)>) -> usize {
        let batch = self.batches;
        self.batches += 1;
        let new: Vec<NewMeasurement> = rows
            .iter()
            .map(|(sensor_id, measured_at, celsius)| NewMeasurement {
                sensor_id: sensor_id.clone(),
                measured_at: *measured_at,
                celsius: *celsius,
                ingested_at: *measured_at + chrono::Duration::milliseconds(200),
            })
            .collect();
        testkit::rows::insert(&mut self.connection, &new)
            .await
            .expect("insert rows");
        self.rows.extend(new.into_iter().map(|n| Row {
            sensor_id: n.sensor_id,
            measured_at: n.measured_at,
            celsius: n.celsius,
            ingested_at: n.ingested_at,
            batch,
        }));
        batch
    }

    /// What the documented outputs show: sensors lab-1 to lab-3, a reading every 15 minutes from
    /// 10:00 to 11:00 on 2026-11-27.
    async fn seed(&mut self) {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let mut rows = Vec::new();
        for (s, sensor) in SENSORS.iter().enumerate() {
            for i in 0..5 {
                let celsius = 20.0 + s as f64 + f64::from(i) * 0.1 + 0.5;
                rows.push((
                    (*sensor).to_owned(),
                    start + chrono::Duration::minutes(15 * i64::from(i)),
                    (celsius * 10.0).round() / 10.0,
                ));
            }
        }
        self.save(rows).await;
    }

    /// A time for a new row: now, on no whole second and on no other row's microsecond.
    fn live_time(&mut self) -> DateTime<Utc> {
        self.counter += 1;
        Utc::now().with_nanosecond(0).unwrap()
            + chrono::Duration::microseconds(i64::from(self.counter))
    }

    /// Saves one new reading of `sensor` now (in its own transaction); returns the row.
    async fn save_live(&mut self, sensor: &str) -> Row {
        let at = self.live_time();
        let celsius = 18.0 + f64::from(self.counter % 50) / 10.0;
        self.save(vec![(sensor.to_owned(), at, celsius)]).await;
        self.rows.last().unwrap().clone()
    }
}

// ------------------------------------------------------------------------------------ requests

/// An example's request, read from its arguments as `sh` passes them.
#[derive(Debug, Clone)]
enum Request {
    GrpcList,
    GrpcDescribe(String),
    GrpcCall { method: String, data: Value },
    Http(Http),
}

#[derive(Debug, Clone)]
struct Http {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    data: Option<String>,
    /// `-i`: the output starts with the status line and headers.
    include_headers: bool,
}

impl Http {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The arguments `sh` gives the example's first command, with `TOKEN`/`CURSOR` set to markers.
async fn arguments(example: &Example) -> Vec<String> {
    let script = format!(
        "args() {{ for a; do printf '%s\\0' \"$a\"; done; }}; \
         curl() {{ args \"$@\"; }}; grpcurl() {{ args \"$@\"; }}; {}",
        example.command
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("TOKEN", "@TOKEN@")
        .env("CURSOR", "@CURSOR@")
        .output()
        .await
        .expect("run sh");
    assert!(output.status.success(), "{example}: sh cannot parse it");
    String::from_utf8(output.stdout)
        .expect("UTF-8 arguments")
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

fn parse_request(example: &Example, args: &[String]) -> Request {
    let mut positional = Vec::new();
    let mut data = None;
    let mut headers = Vec::new();
    let mut method = None;
    let mut include_headers = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-d" | "--data" | "--data-raw" | "--data-binary" => data = args.next().cloned(),
            "-H" | "--header" => {
                let header = args.next().expect("-H takes a header");
                let (name, value) = header.split_once(':').expect("a header is name: value");
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-X" | "--request" => method = args.next().cloned(),
            "--cacert" | "-cacert" => {
                args.next();
            }
            "-m" | "--max-time" | "-max-time" | "-connect-timeout" => {
                args.next();
            }
            flag if flag.starts_with("--") => {}
            flag if flag.starts_with('-') => {
                // grpcurl's single-dash words (-plaintext) and curl's short flag groups (-sNi).
                if example.command.starts_with("curl ") && flag.contains('i') {
                    include_headers = true;
                }
            }
            _ => positional.push(arg.clone()),
        }
    }
    if example.command.starts_with("grpcurl ") {
        assert_eq!(
            positional.first().map(String::as_str),
            Some(README_ADDR),
            "{example}: grpcurl's first argument is the address"
        );
        return match positional.get(1).map(String::as_str) {
            Some("list") => Request::GrpcList,
            Some("describe") => Request::GrpcDescribe(
                positional
                    .get(2)
                    .cloned()
                    .unwrap_or_else(|| panic!("{example}: describe what?")),
            ),
            Some(method) => Request::GrpcCall {
                method: method.to_owned(),
                data: data.map_or(Value::Object(Default::default()), |d| {
                    serde_json::from_str(&d)
                        .unwrap_or_else(|e| panic!("{example}: -d is not JSON ({e}): {d}"))
                }),
            },
            None => panic!("{example}: no grpcurl verb or method"),
        };
    }
    let url = positional
        .first()
        .unwrap_or_else(|| panic!("{example}: no URL"));
    let url = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("{example}: the URL is not https://{README_ADDR}"));
    let rest = url
        .strip_prefix(README_ADDR)
        .unwrap_or_else(|| panic!("{example}: the URL is not on {README_ADDR}"));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Request::Http(Http {
        method: method.unwrap_or_else(|| if data.is_some() { "POST" } else { "GET" }.into()),
        path: path.to_owned(),
        params,
        headers,
        data,
        include_headers,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 parameter")
}

// ------------------------------------------------------------------------------------ what to expect

/// The filters and page of a `ListMeasurements` question, from gRPC JSON or HTTP parameters.
#[derive(Debug, Clone, Default)]
struct ListQuestion {
    /// As asked: `None` when absent.
    page_size: Option<i64>,
    /// The HTTP `limit` when it is not even a number.
    page_size_text: Option<String>,
    sensor_id: Option<String>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    /// Asks for the page after the first (`$TOKEN` is that page's token).
    second_page: bool,
}

impl ListQuestion {
    fn from_grpc(data: &Value) -> Self {
        Self {
            page_size: field(data, "page_size", "pageSize").map(|v| {
                v.as_i64()
                    .or_else(|| v.as_str()?.parse().ok())
                    .expect("page_size is a number")
            }),
            page_size_text: None,
            sensor_id: field(data, "sensor_id", "sensorId").map(|v| v.as_str().unwrap().into()),
            start: field(data, "start_time", "startTime").map(|v| time(v.as_str().unwrap())),
            end: field(data, "end_time", "endTime").map(|v| time(v.as_str().unwrap())),
            second_page: field(data, "page_token", "pageToken").is_some(),
        }
    }

    fn from_http(http: &Http) -> Self {
        let limit = http.param("limit");
        Self {
            page_size: limit.and_then(|l| l.parse().ok()),
            page_size_text: limit.filter(|l| l.parse::<i64>().is_err()).map(Into::into),
            sensor_id: http.param("sensor_id").map(Into::into),
            start: http.param("start_time").map(time),
            end: http.param("end_time").map(time),
            second_page: http.param("page_token").is_some(),
        }
    }

    /// The page size when valid (0 and absent mean the default), `None` when it must be refused.
    fn valid_page_size(&self) -> Option<usize> {
        if self.page_size_text.is_some() {
            return None;
        }
        match self.page_size {
            None | Some(0) => Some(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Some(n as usize),
            Some(_) => None,
        }
    }

    /// The rows of the answer, and whether a next page must be offered.
    fn expected(&self, rows: &[Row]) -> (Vec<Row>, bool) {
        let size = self.valid_page_size().expect("a valid question");
        let mut matching: Vec<&Row> = rows
            .iter()
            .filter(|r| self.sensor_id.as_ref().is_none_or(|s| *s == r.sensor_id))
            .filter(|r| self.start.is_none_or(|t| r.measured_at >= t))
            .filter(|r| self.end.is_none_or(|t| r.measured_at < t))
            .collect();
        matching.sort_by(|a, b| b.newest_first_key().cmp(&a.newest_first_key()));
        let skip = if self.second_page { size } else { 0 };
        let page: Vec<Row> = matching
            .iter()
            .skip(skip)
            .take(size)
            .map(|r| (*r).clone())
            .collect();
        (page, matching.len() > skip + size)
    }
}

/// One sensor as `ListSensors` must show it.
#[derive(Debug, Clone, PartialEq)]
struct SensorSummary {
    sensor_id: String,
    latest: Row,
    count: u64,
}

fn expected_sensors(rows: &[Row], page_size: usize) -> (Vec<SensorSummary>, bool) {
    let mut by_sensor: BTreeMap<&str, SensorSummary> = BTreeMap::new();
    for row in rows {
        let entry = by_sensor
            .entry(&row.sensor_id)
            .or_insert_with(|| SensorSummary {
                sensor_id: row.sensor_id.clone(),
                latest: row.clone(),
                count: 0,
            });
        entry.count += 1;
        if row.measured_at > entry.latest.measured_at {
            entry.latest = row.clone();
        }
    }
    let more = by_sensor.len() > page_size;
    (by_sensor.into_values().take(page_size).collect(), more)
}

// ------------------------------------------------------------------------------------ JSON

/// A JSON field by its protobuf name or its protobuf-JSON (camelCase) name: HTTP JSON uses the
/// first, grpcurl the second.
fn field<'a>(value: &'a Value, snake: &str, camel: &str) -> Option<&'a Value> {
    value.get(snake).or_else(|| value.get(camel))
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// A measurement from JSON, as `(sensor_id, measured_at, celsius, ingested_at)`; `saved_at` must
/// be there and be a time.
fn measurement(value: &Value) -> (String, DateTime<Utc>, f64, DateTime<Utc>) {
    let text = |snake, camel| {
        field(value, snake, camel)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{snake} missing in {value}"))
    };
    let _saved_at = time(text("saved_at", "savedAt"));
    (
        text("sensor_id", "sensorId").to_owned(),
        time(text("measured_at", "measuredAt")),
        value["celsius"].as_f64().expect("celsius is a number"),
        time(text("ingested_at", "ingestedAt")),
    )
}

fn row_fields(row: &Row) -> (String, DateTime<Utc>, f64, DateTime<Utc>) {
    (
        row.sensor_id.clone(),
        row.measured_at,
        row.celsius,
        row.ingested_at,
    )
}

fn json(example: &Example, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{example}: not JSON ({e}):\n{text}"))
}

fn assert_measurements_page(
    example: &Example,
    page: &Value,
    question: &ListQuestion,
    rows: &[Row],
) {
    let (expected, more) = question.expected(rows);
    assert!(
        !expected.is_empty(),
        "{example}: the seeded rows answer nothing here; seed rows it shows"
    );
    let got: Vec<_> = page["measurements"]
        .as_array()
        .unwrap_or_else(|| panic!("{example}: no measurements in {page}"))
        .iter()
        .map(measurement)
        .collect();
    let want: Vec<_> = expected.iter().map(row_fields).collect();
    assert_eq!(got, want, "{example}: the rows, newest first");
    let token = field(page, "next_page_token", "nextPageToken")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(
        !token.is_empty(),
        more,
        "{example}: a next page token exactly when more rows match ({page})"
    );
}

fn assert_sensors_page(example: &Example, page: &Value, page_size: usize, rows: &[Row]) {
    let (expected, more) = expected_sensors(rows, page_size);
    let got = page["sensors"]
        .as_array()
        .unwrap_or_else(|| panic!("{example}: no sensors in {page}"));
    assert_eq!(got.len(), expected.len(), "{example}: sensors in {page}");
    for (got, want) in got.iter().zip(&expected) {
        let count = field(got, "measurement_count", "measurementCount")
            .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
            .unwrap_or_else(|| panic!("{example}: no measurement_count in {got}"));
        assert_eq!(
            (
                field(got, "sensor_id", "sensorId").and_then(Value::as_str),
                count,
                measurement(&got["latest"]),
            ),
            (
                Some(want.sensor_id.as_str()),
                want.count,
                row_fields(&want.latest),
            ),
            "{example}: sensor, count and latest reading"
        );
    }
    let token = field(page, "next_page_token", "nextPageToken")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(!token.is_empty(), more, "{example}: next page token");
}

// ------------------------------------------------------------------------------------ running

struct Runner {
    admin: RunningService<admin::Application>,
    /// The CA of admin's certificate, standing in for the documents' `.stack/tls/ca.pem`.
    ca: TestCa,
    /// `$READ_TOKEN`: a read token, as `scripts/dev up` tells a reader to set it.
    read_token: String,
    table: Table,
    grpcurl: PathBuf,
    /// A watch cursor and the row it stands for, once one was needed.
    cursor: Option<(String, Row)>,
}

impl Runner {
    /// The example as a shell command against the test admin.
    fn command(&self, text: &str, token: &str) -> Command {
        let mut command = docs::sh(&docs::local_command(
            text,
            README_ADDR,
            self.admin.addr,
            &self.ca.ca_file,
            &self.grpcurl,
        ));
        command
            .env("TOKEN", token)
            .env("READ_TOKEN", &self.read_token)
            .env(
                "CURSOR",
                self.cursor
                    .as_ref()
                    .map_or("", |(cursor, _)| cursor.as_str()),
            );
        command
    }

    async fn output(&self, text: &str, token: &str) -> Output {
        docs::output(self.command(text, token), text).await
    }

    /// Runs a command that must succeed and returns its stdout.
    async fn stdout(&self, example: &Example, text: &str, token: &str) -> String {
        docs::stdout(self.output(text, token).await, example)
    }

    async fn run(&mut self, example: &Example) {
        let args = arguments(example).await;
        let request = parse_request(example, &args);
        let token = if example.command.contains("$TOKEN") {
            self.first_page_token(example, &request).await
        } else {
            String::new()
        };
        if example.command.contains("$CURSOR") && self.cursor.is_none() {
            self.take_cursor().await;
        }
        match &request {
            Request::GrpcList => {
                let out = self.stdout(example, &example.command, &token).await;
                let listed: HashSet<&str> = out.lines().map(str::trim).collect();
                for service in ["sensorpipe.v1.AdminService", "grpc.health.v1.Health"] {
                    assert!(
                        listed.contains(service),
                        "{example}: {service} not in\n{out}"
                    );
                }
                assert!(
                    listed.iter().any(|s| s.starts_with("grpc.reflection.")),
                    "{example}: no grpc.reflection service in\n{out}"
                );
            }
            Request::GrpcDescribe(symbol) => {
                let out = self.stdout(example, &example.command, &token).await;
                assert!(
                    out.contains(symbol.as_str()),
                    "{example}: {symbol} not described:\n{out}"
                );
            }
            Request::GrpcCall { method, data } => {
                self.grpc_call(example, method, data, &token).await;
            }
            Request::Http(http) => self.http(example, http, &token).await,
        }
    }

    async fn grpc_call(&mut self, example: &Example, method: &str, data: &Value, token: &str) {
        match method {
            "grpc.health.v1.Health/Check" => {
                let out = self.stdout(example, &example.command, token).await;
                assert_eq!(json(example, &out)["status"], "SERVING", "{example}");
            }
            "sensorpipe.v1.AdminService/ListMeasurements" => {
                let question = ListQuestion::from_grpc(data);
                if question.valid_page_size().is_none() {
                    let output = self.output(&example.command, token).await;
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    assert_eq!(
                        output.status.code(),
                        Some(64 + 3),
                        "{example}: grpcurl exits with 64 + INVALID_ARGUMENT; stderr: {stderr}"
                    );
                    assert!(
                        stderr.contains("InvalidArgument") && stderr.contains("page_size:"),
                        "{example}: INVALID_ARGUMENT naming page_size, got: {stderr}"
                    );
                    return;
                }
                let out = self.stdout(example, &example.command, token).await;
                assert_measurements_page(
                    example,
                    &json(example, &out),
                    &question,
                    &self.table.rows,
                );
            }
            "sensorpipe.v1.AdminService/ListSensors" => {
                let size = field(data, "page_size", "pageSize")
                    .and_then(Value::as_u64)
                    .map_or(DEFAULT_PAGE_SIZE, |n| n as usize);
                let out = self.stdout(example, &example.command, token).await;
                assert_sensors_page(example, &json(example, &out), size, &self.table.rows);
            }
            "sensorpipe.v1.AdminService/WatchMeasurements" => {
                let sensor = field(data, "sensor_id", "sensorId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.watch(example, sensor, Events::Grpc).await;
            }
            other => {
                panic!("{example}: no check for method {other}; teach this test what it prints")
            }
        }
    }

    async fn http(&mut self, example: &Example, http: &Http, token: &str) {
        match (http.method.as_str(), http.path.as_str()) {
            ("GET", "/measurements") => {
                let question = ListQuestion::from_http(http);
                let out = self.stdout(example, &example.command, token).await;
                let (status, body) = split_response(example, http, &out);
                if question.valid_page_size().is_none() {
                    assert_eq!(status, Some(400), "{example}: status\n{out}");
                    let error = &json(example, body)["error"];
                    assert_eq!(error["code"], "INVALID_ARGUMENT", "{example}: {body}");
                    assert_eq!(error["field"], "limit", "{example}: {body}");
                    let message = error["message"].as_str().unwrap_or_default();
                    assert!(message.starts_with("limit:"), "{example}: {body}");
                    return;
                }
                assert!(matches!(status, None | Some(200)), "{example}: {out}");
                assert_measurements_page(
                    example,
                    &json(example, body),
                    &question,
                    &self.table.rows,
                );
            }
            ("GET", "/sensors") => {
                let size = http
                    .param("limit")
                    .map_or(DEFAULT_PAGE_SIZE, |l| l.parse().expect("a valid limit"));
                let out = self.stdout(example, &example.command, token).await;
                let (status, body) = split_response(example, http, &out);
                assert!(matches!(status, None | Some(200)), "{example}: {out}");
                assert_sensors_page(example, &json(example, body), size, &self.table.rows);
            }
            ("GET", "/measurements/watch") => {
                let sensor = http.param("sensor_id").map(str::to_owned);
                self.watch(example, sensor, Events::Sse).await;
            }
            ("GET", "/metrics") => {
                let out = self.stdout(example, &example.command, token).await;
                for protocol in ["grpc", "http"] {
                    let wanted = format!("protocol=\"{protocol}\"");
                    assert!(
                        out.lines()
                            .any(|l| l.starts_with("admin_requests_total{") && l.contains(&wanted)),
                        "{example}: no admin_requests_total for {protocol} calls in\n{out}"
                    );
                }
            }
            ("POST", path) if http.header("content-type") == Some("application/grpc-web-text") => {
                assert_eq!(path, "/sensorpipe.v1.AdminService/ListSensors", "{example}");
                assert_eq!(http.data.as_deref(), Some("AAAAAAA="), "{example}");
                let out = self.stdout(example, &example.command, token).await;
                let frames = grpc_web_frames(example, &out);
                let data = frames
                    .iter()
                    .find(|(flag, _)| *flag == 0)
                    .unwrap_or_else(|| panic!("{example}: no data frame in {out}"));
                let answer = ListSensorsResponse::decode(data.1.as_slice())
                    .unwrap_or_else(|e| panic!("{example}: not a ListSensorsResponse: {e}"));
                let (expected, _) = expected_sensors(&self.table.rows, DEFAULT_PAGE_SIZE);
                let got: Vec<_> = answer
                    .sensors
                    .iter()
                    .map(|s| (s.sensor_id.clone(), s.measurement_count))
                    .collect();
                let want: Vec<_> = expected
                    .iter()
                    .map(|s| (s.sensor_id.clone(), s.count))
                    .collect();
                assert_eq!(got, want, "{example}: the sensors over gRPC-Web");
                let trailers = frames
                    .iter()
                    .find(|(flag, _)| flag & 0x80 != 0)
                    .map(|(_, t)| String::from_utf8_lossy(t).to_lowercase())
                    .unwrap_or_else(|| panic!("{example}: no trailer frame in {out}"));
                assert!(trailers.contains("grpc-status:0"), "{example}: {trailers}");
            }
            ("OPTIONS", _) => {
                let out = self.stdout(example, &example.command, token).await;
                let (status, _) = split_response(example, http, &out);
                assert!(
                    matches!(status, Some(200 | 204)),
                    "{example}: preflight answered\n{out}"
                );
                let head = out.to_lowercase();
                assert!(
                    head.contains("access-control-allow-origin:"),
                    "{example}: no access-control-allow-origin\n{out}"
                );
                assert!(
                    head.contains("x-grpc-web"),
                    "{example}: x-grpc-web not allowed\n{out}"
                );
            }
            (method, path) => {
                panic!("{example}: no check for {method} {path}; teach this test what it prints")
            }
        }
    }

    /// The next page token of the example's question without its token, asked the same way.
    async fn first_page_token(&self, example: &Example, request: &Request) -> String {
        let addr = README_ADDR;
        let (command, names) = match request {
            Request::GrpcCall { method, data } => {
                let mut data = data.clone();
                let object = data.as_object_mut().expect("-d is an object");
                object.remove("page_token");
                object.remove("pageToken");
                (
                    format!(
                        "grpcurl -cacert {LOCAL_CA} -H \"authorization: Bearer $READ_TOKEN\" -d {} {addr} {method}",
                        quote(&data.to_string())
                    ),
                    "nextPageToken",
                )
            }
            Request::Http(http) => {
                let query: Vec<String> = http
                    .params
                    .iter()
                    .filter(|(k, _)| k != "page_token")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                (
                    format!(
                        "curl -s --cacert {LOCAL_CA} -H \"authorization: Bearer $READ_TOKEN\" {}",
                        quote(&format!("https://{addr}{}?{}", http.path, query.join("&")))
                    ),
                    "next_page_token",
                )
            }
            other => panic!("{example}: $TOKEN in {other:?}"),
        };
        let out = self.stdout(example, &command, "").await;
        let token = json(example, &out)[names]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            !token.is_empty(),
            "{example}: the first page is the last one; seed more rows so $TOKEN means something"
        );
        token
    }

    /// A watch cursor, as a reader gets one: the `cursor` of a row a watch received. Then a row of
    /// every sensor is saved after it, so resuming from it has something to show.
    async fn take_cursor(&mut self) {
        let channel = self
            .ca
            .channel(self.admin.addr, None)
            .await
            .expect("connect to admin");
        let mut client = AdminServiceClient::new(channel);
        let mut request = tonic::Request::new(WatchMeasurementsRequest::default());
        let authorization = testkit::auth::bearer(&self.read_token).parse().unwrap();
        request
            .metadata_mut()
            .insert("authorization", authorization);
        let mut stream = client
            .watch_measurements(request)
            .await
            .expect("watch")
            .into_inner();
        let deadline = Instant::now() + WATCH_DEADLINE;
        let mut feed = tokio::time::interval(WATCH_FEED_EVERY);
        feed.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let first = loop {
            tokio::select! {
                _ = feed.tick() => { self.table.save_live(SENSORS[0]).await; }
                message = timeout_at(deadline, stream.message()) => {
                    break message
                        .expect("a watch from now on shows a row saved after it started")
                        .expect("the watch runs")
                        .expect("the watch goes on");
                }
            }
        };
        let measurement = first.measurement.expect("a watched row");
        let row = self
            .table
            .rows
            .iter()
            .find(|r| {
                r.sensor_id == measurement.sensor_id
                    && Some(db::to_timestamp(r.measured_at)) == measurement.measured_at
            })
            .cloned()
            .unwrap_or_else(|| panic!("the watch showed a row never saved: {measurement:?}"));
        self.cursor = Some((first.cursor, row));
        let after = self.table.live_time();
        self.table
            .save(
                SENSORS
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ((*s).to_owned(), after, 30.0 + i as f64))
                    .collect(),
            )
            .await;
    }

    /// A watch example: resumed from `$CURSOR`, it must print exactly the rows saved after the
    /// cursor (of its sensor), in save order; from now on, rows saved while it runs.
    async fn watch(&mut self, example: &Example, sensor: Option<String>, kind: Events) {
        let resumed = example.command.contains("$CURSOR");
        let matches = |r: &Row| sensor.as_ref().is_none_or(|s| *s == r.sensor_id);
        let mut child = self
            .command(&example.command, "")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the watch");
        let mut chunks = read_chunks(&mut child);
        let mut stderr = child.stderr.take().expect("piped stderr");
        let deadline = Instant::now() + WATCH_DEADLINE;
        let mut text = String::new();
        let mut seen: Vec<Row> = Vec::new();

        if resumed {
            let (_, after) = self.cursor.clone().expect("a cursor was taken");
            let mut expected: Vec<Row> = self
                .table
                .rows
                .iter()
                .filter(|r| r.save_key() > after.save_key() && matches(r))
                .cloned()
                .collect();
            expected.sort_by(|a, b| a.save_key().cmp(&b.save_key()));
            assert!(
                !expected.is_empty(),
                "{example}: nothing saved after $CURSOR"
            );
            while seen.len() < expected.len() {
                let chunk = timeout_at(deadline, chunks.recv()).await;
                let Ok(Some(chunk)) = chunk else {
                    let _ = child.kill().await;
                    panic!(
                        "{example}: {} of the {} rows saved after $CURSOR within {WATCH_DEADLINE:?}; \
                         output:\n{text}\nstderr: {}",
                        seen.len(),
                        expected.len(),
                        read_all(&mut stderr).await
                    );
                };
                text.push_str(&chunk);
                seen = self.watched_rows(example, kind, &text);
            }
            let _ = child.kill().await;
            assert_eq!(
                seen.iter().map(row_fields).collect::<Vec<_>>(),
                expected.iter().map(row_fields).collect::<Vec<_>>(),
                "{example}: exactly the rows saved after $CURSOR, in save order"
            );
            return;
        }

        let feed_sensor = sensor.clone().unwrap_or_else(|| SENSORS[1].to_owned());
        let mut fed = Vec::new();
        let mut feed = tokio::time::interval(WATCH_FEED_EVERY);
        feed.set_missed_tick_behavior(MissedTickBehavior::Delay);
        while !seen.iter().any(|r| fed.contains(r)) {
            tokio::select! {
                _ = feed.tick() => fed.push(self.table.save_live(&feed_sensor).await),
                chunk = timeout_at(deadline, chunks.recv()) => {
                    let Ok(Some(chunk)) = chunk else {
                        let _ = child.kill().await;
                        panic!(
                            "{example}: no row saved while it ran showed up within \
                             {WATCH_DEADLINE:?}; output:\n{text}\nstderr: {}",
                            read_all(&mut stderr).await
                        );
                    };
                    text.push_str(&chunk);
                    seen = self.watched_rows(example, kind, &text);
                }
            }
        }
        let _ = child.kill().await;
        for row in &seen {
            assert!(matches(row), "{example}: a row of another sensor: {row:?}");
        }
        let keys: Vec<_> = seen.iter().map(Row::save_key).collect();
        let in_order = keys.windows(2).all(|w| w[0] < w[1]);
        assert!(
            in_order,
            "{example}: rows in save order, each once: {seen:?}"
        );
    }

    /// The complete rows in a watch's output so far, each looked up among the saved rows.
    fn watched_rows(&self, example: &Example, kind: Events, text: &str) -> Vec<Row> {
        let measurements: Vec<Value> = match kind {
            Events::Grpc => {
                let mut values = Vec::new();
                for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
                    match value {
                        Ok(value) => {
                            assert!(
                                value["cursor"].as_str().is_some_and(|c| !c.is_empty()),
                                "{example}: a row without its cursor: {value}"
                            );
                            values.push(value["measurement"].clone());
                        }
                        Err(e) if e.is_eof() => break,
                        Err(e) => panic!("{example}: not JSON ({e}):\n{text}"),
                    }
                }
                values
            }
            Events::Sse => {
                let complete = &text[..text.rfind("\n\n").map_or(0, |i| i + 2)];
                let mut values = Vec::new();
                for event in complete.split("\n\n").filter(|e| !e.trim().is_empty()) {
                    let mut name = "message";
                    let mut id = None;
                    let mut data = String::new();
                    for line in event.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            name = v.trim();
                        } else if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    match name {
                        "measurement" => {
                            assert!(
                                id.is_some_and(|i| !i.is_empty()),
                                "{example}: an event without its cursor as id:\n{event}"
                            );
                            values.push(json(example, &data));
                        }
                        // A comment only (keep-alive).
                        "message" if data.is_empty() => {}
                        other => panic!("{example}: event {other}:\n{event}"),
                    }
                }
                values
            }
        };
        measurements
            .iter()
            .map(|m| {
                let fields = measurement(m);
                self.table
                    .rows
                    .iter()
                    .find(|r| row_fields(r) == fields)
                    .cloned()
                    .unwrap_or_else(|| panic!("{example}: a row never saved: {m}"))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Events {
    /// grpcurl: one JSON object per response.
    Grpc,
    /// Server-Sent Events.
    Sse,
}

/// The child's stdout, as it comes.
fn read_chunks(child: &mut Child) -> mpsc::UnboundedReceiver<String> {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = vec![0; 64 * 1024];
        let mut pending = Vec::new();
        while let Ok(n) = stdout.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&buffer[..n]);
            // Only whole UTF-8 characters.
            let valid = match std::str::from_utf8(&pending) {
                Ok(_) => pending.len(),
                Err(e) => e.valid_up_to(),
            };
            let text = String::from_utf8(pending.drain(..valid).collect()).unwrap();
            if tx.send(text).is_err() {
                break;
            }
        }
    });
    rx
}

async fn read_all(stderr: &mut tokio::process::ChildStderr) -> String {
    let mut text = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stderr.read_to_end(&mut text)).await;
    String::from_utf8_lossy(&text).into_owned()
}

/// `(status, body)`: the status when the example prints headers (`-i`).
fn split_response<'a>(example: &Example, http: &Http, out: &'a str) -> (Option<u16>, &'a str) {
    if !http.include_headers {
        return (None, out);
    }
    let (head, body) = out
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{example}: no headers in\n{out}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{example}: no status line in\n{out}"));
    (Some(status), body)
}

/// The frames of a gRPC-Web-text answer: `(flag, payload)`. Each chunk of the answer is base64
/// on its own (padded), so it is decoded four characters at a time.
fn grpc_web_frames(example: &Example, text: &str) -> Vec<(u8, Vec<u8>)> {
    let text: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut bytes = Vec::new();
    for quad in text.chunks(4) {
        let decoded = STANDARD
            .decode(quad)
            .unwrap_or_else(|e| panic!("{example}: not base64 ({e})"));
        bytes.extend(decoded);
    }
    let mut frames = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        assert!(rest.len() >= 5, "{example}: a truncated gRPC-Web frame");
        let length = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        assert!(
            rest.len() >= 5 + length,
            "{example}: a truncated gRPC-Web frame"
        );
        frames.push((rest[0], rest[5..5 + length].to_vec()));
        rest = &rest[5 + length..];
    }
    frames
}

/// The kinds of example the documentation must keep showing, each a marker of the command.
const MUST_SHOW: &[&str] = &[
    " list",
    "AdminService/ListMeasurements",
    "AdminService/ListSensors",
    "AdminService/WatchMeasurements",
    "/measurements?limit=",
    "sensor_id=",
    "start_time=",
    "end_time=",
    "page_token=$TOKEN",
    "/sensors",
    "/measurements/watch",
    "Last-Event-ID: $CURSOR",
    "limit=abc",
    "limit=-1",
    "limit=1000000",
    "grpc-web",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_example_in_the_docs_does_what_it_says() {
    let examples = doc_examples();
    for marker in MUST_SHOW {
        assert!(
            examples.iter().any(|e| e.command.contains(marker)),
            "neither {FRONT_PAGE} nor {DOCS_DIR}/*.md shows an admin example with {marker:?} any more"
        );
    }
    let grpcurl = grpcurl();
    let database_url = testkit::fresh_database("readme").await;
    let mut table = Table::new(&database_url).await;
    table.seed().await;
    // Auth on, TLS, and the origin of the CORS example allowed, as the docs say.
    let tokens = testkit::TestTokens::new();
    let read_token = tokens.create("docs-reader", &["read"]);
    let ca = TestCa::new("docs-admin");
    let mut args = tokens.args().to_vec();
    args.extend(ca.server_args());
    args.extend([
        "--cors-allowed-origins".into(),
        "http://localhost:3000".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let admin = start_admin(&database_url, &args).await;
    let mut runner = Runner {
        admin,
        ca,
        read_token,
        table,
        grpcurl,
        cursor: None,
    };
    for example in &examples {
        eprintln!("running {example}");
        runner.run(example).await;
    }
    eprintln!("{} documented examples did what they say", examples.len());
    runner.admin.stop().await;
}
