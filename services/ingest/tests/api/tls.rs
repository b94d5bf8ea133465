//! Ingest over TLS and mTLS: the generator over https, `POST /measurements` over HTTP/1.1 and
//! HTTP/2 on the same port, refusals of clients that do not trust the server or that the server
//! does not trust, and start-up errors for half a configuration.

use clap::Parser;
use reqwest::{StatusCode, Version};
use sensorpipe::{
    proto::v1::{ReadingBatch, ingest_service_client::IngestServiceClient},
    service::Service,
};
use serde_json::json;
use testkit::tls::{CertFiles, HttpVersion, TestCa};

use crate::helpers::{TestApp, good, now_secs};

async fn spawn(args: &[String]) -> TestApp {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::spawn(&args).await
}

/// One reading through gRPC on a channel trusting `ca` (with `identity` for mTLS): `Err` with the
/// handshake's or the call's error when refused. With TLS 1.3 the server checks the client's
/// certificate after the client considers the handshake done, so a refusal can surface on the
/// first call rather than on connect.
async fn write_one(
    app: &TestApp,
    ca: &TestCa,
    identity: Option<&CertFiles>,
    sensor: &str,
) -> Result<(), String> {
    let channel = ca
        .channel(app.service.addr, identity)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let batch = ReadingBatch {
        sequence: 1,
        readings: vec![good(sensor, 1, 20.0)],
    };
    let ack = IngestServiceClient::new(channel)
        .send_readings(batch)
        .await
        .map_err(|e| format!("{e:?}"))?
        .into_inner();
    assert_eq!(ack.accepted, 1, "{ack:?}");
    Ok(())
}

/// The generator, to ingest over https trusting `ca`, with `args` as further flags.
async fn run_generator(app: &TestApp, ca: &TestCa, args: &[&str]) -> generator::Summary {
    let url = TestCa::url(app.service.addr, "");
    let ca_file = ca.ca_file.to_str().unwrap();
    let argv = ["generator", "--ingest-url", &url, "--tls-ca-file", ca_file];
    let config = generator::Config::try_parse_from(argv.iter().chain(args)).unwrap();
    generator::run(config, std::future::pending())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_generator_over_https_stores_every_reading() {
    let ca = TestCa::new("ingest-generator");
    let app = spawn(&ca.server_args()).await;
    let summary = run_generator(
        &app,
        &ca,
        &[
            "--rate",
            "0",
            "--sensors",
            "10",
            "--batch-size",
            "50",
            "--count",
            "500",
        ],
    )
    .await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.accepted, 500);
    assert_eq!(app.stop_and_read().await.len(), 500);
}

#[tokio::test]
async fn http_json_is_served_over_tls_with_http1_and_http2() {
    let ca = TestCa::new("ingest-http");
    let app = spawn(&ca.server_args()).await;
    let measured_at = chrono::DateTime::from_timestamp(now_secs() - 2, 0)
        .unwrap()
        .to_rfc3339();
    for (version, expected, sensor) in [
        (HttpVersion::Http1, Version::HTTP_11, "tls-h1"),
        (HttpVersion::Http2, Version::HTTP_2, "tls-h2"),
    ] {
        let response = ca
            .http_client(None, version)
            .post(TestCa::url(app.service.addr, "/measurements"))
            .json(&json!({"sensor_id": sensor, "measured_at": measured_at, "celsius": 21.5}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{version:?}: {e:?}"));
        assert_eq!(response.version(), expected);
        assert_eq!(response.status(), StatusCode::OK, "{version:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["accepted"], 1, "{version:?}: {body}");
    }
    let mut keys: Vec<String> = app
        .stop_and_read()
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["tls-h1", "tls-h2"]);
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused_and_the_server_stays_up() {
    let ca = TestCa::new("ingest-right");
    let other = TestCa::new("ingest-other");
    let app = spawn(&ca.server_args()).await;

    let refused = write_one(&app, &other, None, "untrusting")
        .await
        .unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    // The generator says which CA it trusted.
    let summary = run_generator(&app, &other, &["--count", "1", "--give-up-after", "300ms"]).await;
    let generator::Outcome::GaveUp { error } = &summary.outcome else {
        panic!("{summary}");
    };
    assert!(error.contains(other.ca_file.to_str().unwrap()), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");

    assert!(!app.service.is_finished());
    write_one(&app, &ca, None, "trusting").await.unwrap();
    let stored = app.stop_and_read().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].key, "trusting");
}

#[tokio::test]
async fn with_mtls_only_a_certificate_of_the_client_ca_gets_in() {
    let ca = TestCa::new("ingest-mtls");
    let other = TestCa::new("ingest-mtls-other");
    let app = spawn(&ca.mtls_server_args()).await;

    let refused = write_one(&app, &ca, None, "anonymous").await.unwrap_err();
    assert!(refused.contains("CertificateRequired"), "{refused}");
    let refused = write_one(&app, &ca, Some(&other.client), "stranger")
        .await
        .unwrap_err();
    assert!(refused.contains("UnknownCA"), "{refused}");
    let no_cert = ca
        .http_client(None, HttpVersion::Http1)
        .get(TestCa::url(app.service.addr, "/metrics"))
        .send()
        .await;
    assert!(no_cert.is_err(), "{no_cert:?}");

    write_one(&app, &ca, Some(&ca.client), "device-1")
        .await
        .unwrap();
    let metrics = ca
        .http_client(Some(&ca.client), HttpVersion::Http1)
        .get(TestCa::url(app.service.addr, "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let stored = app.stop_and_read().await;
    let keys: Vec<_> = stored.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["device-1"]);
}

/// Refused before Kafka is even asked, naming the flags or the file, and never showing a key.
#[tokio::test]
async fn half_a_tls_configuration_or_a_bad_file_is_refused_at_start() {
    let ca = TestCa::new("ingest-flags");
    let cert = ca.server.cert.to_str().unwrap();
    let key = ca.server.key.to_str().unwrap();
    let ca_file = ca.ca_file.to_str().unwrap();
    let missing = "/nonexistent/sensorpipe/cert.pem";
    let key_pem = std::fs::read_to_string(&ca.server.key).unwrap();
    let key_material = key_pem.lines().nth(1).unwrap();
    for (args, expected) in [
        (vec!["--tls-cert-file", cert], "--tls-key-file"),
        (vec!["--tls-key-file", key], "--tls-cert-file"),
        (vec!["--tls-client-ca-file", ca_file], "--tls-cert-file"),
        (
            vec!["--tls-cert-file", missing, "--tls-key-file", key],
            missing,
        ),
        (vec!["--tls-cert-file", key, "--tls-key-file", key], key),
        (vec!["--tls-cert-file", cert, "--tls-key-file", cert], cert),
    ] {
        let argv = [
            "ingest",
            "--kafka-brokers",
            "127.0.0.1:1",
            "--insecure-no-auth",
        ]
        .into_iter()
        .chain(args.iter().copied());
        let config = ingest::Config::try_parse_from(argv).unwrap();
        let Err(error) = ingest::Application::build(config).await else {
            panic!("{args:?} started");
        };
        let error = error.to_string();
        assert!(error.contains(expected), "{args:?}: {error}");
        assert!(!error.contains(key_material), "{error}");
    }
}

/// Handshakes run in tasks of their own: a client that connects and never says hello, or one
/// that speaks plaintext HTTP to the TLS port, holds up no one, and the server stays up.
#[tokio::test]
async fn a_stalled_or_plaintext_client_holds_up_no_one() {
    let ca = TestCa::new("ingest-stall");
    let app = spawn(&ca.server_args()).await;
    let stalled = tokio::net::TcpStream::connect(app.service.addr)
        .await
        .unwrap();
    let plaintext = reqwest::get(format!("http://{}/metrics", app.service.addr)).await;
    assert!(plaintext.is_err(), "{plaintext:?}");

    // Well within the server's 10 s handshake deadline, so the stalled client is still waiting.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        write_one(&app, &ca, None, "after-stall"),
    )
    .await
    .expect("a stalled handshake held up the next client")
    .unwrap();
    drop(stalled);
    let stored = app.stop_and_read().await;
    assert_eq!(stored.len(), 1);
}
