//! The pipeline with every security setting on: Kafka over SASL_SSL (SCRAM-SHA-256 over TLS, the
//! local stack's second listener) with the client settings of `--kafka-config-file`, ingest and
//! admin over TLS with bearer tokens, the generator over TLS with mTLS and a device token. Its
//! readings go through ingest, the topic and the saver into PostgreSQL exactly once each, and
//! admin serves them to a reader; a wrong Kafka password stops ingest at start-up with an error
//! that names the problem; and no log line of either test, librdkafka's own included, holds a
//! password, a token or a private key.

mod support;

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use clap::Parser as _;
use diesel::{QueryDsl, dsl::count_star};
use diesel_async::RunQueryDsl;
use sensorpipe::db::{connect, schema::measurements};
use tokio::time::Instant;

use support::{Replayable, run_generator, start_admin, start_ingest, start_saver};
use testkit::{
    TestTokens,
    tls::{HttpVersion, TestCa},
};

const COUNT: u64 = 5_000;
/// How long the saver gets to store every reading.
const STORE_DEADLINE: Duration = Duration::from_secs(120);
/// The wrong password of the refused start-up, which no log or error may hold either.
const WRONG_PASSWORD: &str = "not-the-stack-password-5b1e";

/// Every log line of this test binary, at debug level, librdkafka's (through `log`) included.
/// The services started in-process log into the global subscriber; this one is installed first.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init()
            .expect("the first subscriber of this test binary");
        logs
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Panics if any log line so far holds one of `secrets`; returns the log's length.
fn assert_logs_hold_none_of(secrets: &[&str]) -> usize {
    let logs = captured_logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for secret in secrets {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
    text.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn readings_travel_over_tls_with_tokens_and_sasl_ssl_and_are_stored_once_each() {
    captured_logs();
    let sasl = testkit::require_sasl_kafka().await;
    // Created over PLAINTEXT: both listeners are the same broker.
    let (_, topic) = testkit::fresh_topic("sasl", 3).await;
    let (_, dead_letters) = testkit::fresh_topic("sasl-dlq", 1).await;
    let database_url = testkit::fresh_database("sasl_path").await;
    let settings = ["--kafka-config-file", sasl.config_file_arg()];

    // Ingest and admin over TLS (ingest with mTLS: devices present a certificate) with tokens.
    let ca = TestCa::new("secure-path");
    let tokens = TestTokens::new();
    let writer = tokens.create("devices", &["write:site-"]);
    let reader = tokens.create("dashboard", &["read"]);
    let auth = tokens.args();
    let (mtls, tls) = (ca.mtls_server_args(), ca.server_args());
    let ingest_args: Vec<&str> = settings
        .into_iter()
        .chain(auth.iter().chain(&mtls).map(String::as_str))
        .collect();
    let ingest = start_ingest(&sasl.brokers, &topic, &ingest_args).await;
    let admin_args: Vec<&str> = auth.iter().chain(&tls).map(String::as_str).collect();
    let admin = start_admin(&database_url, &admin_args).await;
    let group = testkit::unique_name("sasl-saver");
    let saver_args = [&settings[..], &["--kafka-dlq-topic", &dead_letters]].concat();
    let saver = start_saver(&sasl.brokers, &topic, &group, &database_url, &saver_args).await;

    let run = Replayable::new(COUNT, 20, 20261130, 0.0);
    let mut config = run.config(&TestCa::url(ingest.addr, ""), 250);
    config.tls.tls_ca_file = Some(ca.ca_file.clone());
    config.tls.tls_cert_file = Some(ca.client.cert.clone());
    config.tls.tls_key_file = Some(ca.client.key.clone());
    config.token_file = Some(tokens.token_file("devices", &writer));
    let summary = run_generator(config).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(
        (summary.accepted, summary.rejected),
        (COUNT, 0),
        "{summary}"
    );

    // The primary key (sensor_id, measured_at) holds each reading at most once, so a count equal
    // to the accepted readings is each of them exactly once.
    let mut db = connect(&database_url).await.expect("the test database");
    let deadline = Instant::now() + STORE_DEADLINE;
    let stored = loop {
        let stored: i64 = measurements::table
            .select(count_star())
            .get_result(&mut db)
            .await
            .expect("count rows");
        if stored as u64 >= COUNT || Instant::now() >= deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(stored as u64, COUNT, "every reading stored once");
    let in_topic = testkit::read_topic(&testkit::kafka_brokers(), &topic).await;
    assert_eq!(
        in_topic.len() as u64,
        COUNT,
        "each reading once in the topic"
    );
    assert!(
        testkit::read_topic_raw(&testkit::kafka_brokers(), &dead_letters)
            .await
            .is_empty()
    );

    // A reader sees them through admin over TLS; no token, no answer.
    let http = ca.http_client(None, HttpVersion::Http1);
    let sensors = TestCa::url(admin.addr, "/sensors?limit=1000");
    let refused = http
        .get(&sensors)
        .send()
        .await
        .expect("admin answers over TLS");
    assert_eq!(refused.status(), 401);
    let answer = http
        .get(&sensors)
        .header("authorization", testkit::auth::bearer(&reader))
        .send()
        .await
        .expect("admin answers over TLS");
    assert_eq!(answer.status(), 200);
    let page: serde_json::Value =
        serde_json::from_slice(&answer.bytes().await.unwrap()).expect("a JSON page");
    let counted: u64 = page["sensors"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|sensor| sensor["measurement_count"].as_u64().expect("a count"))
        .sum();
    assert_eq!(counted, COUNT, "admin counts every reading once");

    ingest.stop().await;
    admin.stop().await;
    saver.stop().await;
    let secret = |token: &str| token.rsplit('_').next().unwrap().to_owned();
    let key_body = |path: &std::path::Path| {
        let pem = std::fs::read_to_string(path).unwrap();
        pem.lines().nth(1).expect("a PEM body line").to_owned()
    };
    let length = assert_logs_hold_none_of(&[
        sasl.password(),
        WRONG_PASSWORD,
        &secret(&writer),
        &secret(&reader),
        &key_body(&ca.server.key),
        &key_body(&ca.client.key),
    ]);
    assert!(length > 0, "the services logged through the capture");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_ingest_with_an_error_that_does_not_hold_it() {
    captured_logs();
    let sasl = testkit::require_sasl_kafka().await;
    let (_, topic) = testkit::fresh_topic("sasl-refused", 1).await;
    let dir = testkit::TempDir::new("sasl-wrong-password");
    let file = dir.path().join("client.properties");
    // librdkafka's SASL and TLS debug lines too, where a careless client would print secrets.
    let settings: String = sasl
        .properties
        .iter()
        .map(|(key, value)| match key {
            "sasl.password" => format!("{key}={WRONG_PASSWORD}\n"),
            _ => format!("{key}={value}\n"),
        })
        .chain(["debug=security,broker\n".to_owned()])
        .collect();
    std::fs::write(&file, settings).unwrap();

    let config = ingest::Config::try_parse_from([
        "ingest",
        "--listen-addr",
        "127.0.0.1:0",
        "--kafka-brokers",
        &sasl.brokers,
        "--kafka-topic",
        &topic,
        "--kafka-config-file",
        file.to_str().unwrap(),
        // Kafka's refusal is the subject; callers' tokens are not.
        "--insecure-no-auth",
    ])
    .expect("valid flags");
    let error = tokio::time::timeout(
        Duration::from_secs(60),
        <ingest::Application as sensorpipe::service::Service>::build(config),
    )
    .await
    .expect("ingest gives up within a minute")
    .err()
    .expect("ingest refuses to start with a wrong password")
    .to_string();
    assert!(error.contains("Authentication"), "{error}");
    assert!(
        error.contains(file.to_str().unwrap()),
        "names the file: {error}"
    );
    assert!(
        !error.contains(WRONG_PASSWORD) && !error.contains(sasl.password()),
        "{error}"
    );
    assert_logs_hold_none_of(&[sasl.password(), WRONG_PASSWORD]);
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(
        logs.contains("SASL authentication error"),
        "librdkafka's own log lines are among those checked"
    );
}
